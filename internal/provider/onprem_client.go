package provider

import (
	"errors"
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
)

// lazyOnPrem holds the SSH client of one provider instance, built the first time a resource
// works on on-prem hosts: Configure makes no connection, and a configuration without on-prem
// clusters never needs a key.
type lazyOnPrem struct {
	once   sync.Once
	client *onprem.Client
	err    error
}

// OnPremClient returns the shared SSH client (one cached connection per host), built from the
// provider's onprem block.
func (d *providerData) OnPremClient() (*onprem.Client, error) {
	d.onprem.once.Do(func() {
		if d.OnPrem.SSHPrivateKey == "" {
			d.onprem.err = errors.New("no SSH private key for on-prem hosts: set ssh_private_key in the provider's " +
				"onprem block, or INFERSTACK_SSH_PRIVATE_KEY")
			return
		}
		d.onprem.client, d.onprem.err = onprem.NewClient(onprem.SSHConfig{
			PrivateKey: d.OnPrem.SSHPrivateKey,
			Passphrase: d.OnPrem.SSHPassphrase,
			KnownHosts: d.OnPrem.KnownHosts,
			UserAgent:  d.UserAgent,
		})
	})
	return d.onprem.client, d.onprem.err
}
