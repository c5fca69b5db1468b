package provider

import (
	"errors"
	"sync"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway/litellm"
)

// lazyGateway holds the LiteLLM client of one provider instance, built the first time a
// resource needs it: a configuration without routes never needs the gateway's URL or key, and
// Configure makes no network call.
type lazyGateway struct {
	once   sync.Once
	client gateway.Gateway
	err    error
}

// errNoGatewayURL is what every gateway-backed resource reports when no gateway is configured.
var errNoGatewayURL = errors.New("no LiteLLM gateway is configured: set gateway.url in the provider block " +
	"(or the LITELLM_URL environment variable) to the proxy's base URL, e.g. https://llm.internal:4000, and " +
	"gateway.master_key (or LITELLM_MASTER_KEY) to its master key")

// GatewayClient returns the gateway client, built on first use from the provider's gateway
// settings and shared by every resource of this provider instance. Building it makes no network
// call; the client retries throttling and transient faults itself.
func (d *providerData) GatewayClient() (gateway.Gateway, error) {
	d.gateway.once.Do(func() {
		if d.Gateway.URL == "" {
			d.gateway.err = errNoGatewayURL
			return
		}
		c, err := litellm.New(litellm.Config{
			URL:       d.Gateway.URL,
			MasterKey: d.Gateway.MasterKey,
			CACertPEM: d.Gateway.CACert,
			UserAgent: d.UserAgent,
		})
		if err != nil {
			d.gateway.err = err
			return
		}
		d.gateway.client = c
	})
	return d.gateway.client, d.gateway.err
}
