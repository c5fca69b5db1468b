package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// clients are the ARM clients of one subscription. Throttling (429 with Retry-After) and 5xx
// are retried by azcore's retry policy, which every client carries.
type clients struct {
	groups      *armresources.ResourceGroupsClient
	vnets       *armnetwork.VirtualNetworksClient
	subnets     *armnetwork.SubnetsClient
	nsgs        *armnetwork.SecurityGroupsClient
	lbs         *armnetwork.LoadBalancersClient
	identities  *armmsi.UserAssignedIdentitiesClient
	vaults      *armkeyvault.VaultsClient
	secrets     *armkeyvault.SecretsClient
	roles       *armauthorization.RoleAssignmentsClient
	skus        *armcompute.ResourceSKUsClient
	usages      *armcompute.UsageClient
	scaleSets   *armcompute.VirtualMachineScaleSetsClient
	vms         *armcompute.VirtualMachinesClient
	upgrades    *armcompute.VirtualMachineScaleSetRollingUpgradesClient
	cred        azcore.TokenCredential
	dataOptions *azsecrets.ClientOptions
}

// clientCache holds the clients per subscription.
type clientCache struct {
	mu sync.Mutex
	m  map[string]*clients
}

// clientsFor returns the clients of subscription sub ("" = the provider's), building them once.
func (b *Backend) clientsFor(sub string) (*clients, string, error) {
	if sub == "" {
		s, err := b.subscription()
		if err != nil {
			return nil, "", err
		}
		sub = s
	}
	cred, opts, err := b.credential()
	if err != nil {
		return nil, "", err
	}
	b.cache.mu.Lock()
	defer b.cache.mu.Unlock()
	if c, ok := b.cache.m[strings.ToLower(sub)]; ok {
		return c, sub, nil
	}
	c := &clients{cred: cred}
	build := []func() error{
		func() (err error) { c.groups, err = armresources.NewResourceGroupsClient(sub, cred, opts); return },
		func() (err error) { c.vnets, err = armnetwork.NewVirtualNetworksClient(sub, cred, opts); return },
		func() (err error) { c.subnets, err = armnetwork.NewSubnetsClient(sub, cred, opts); return },
		func() (err error) { c.nsgs, err = armnetwork.NewSecurityGroupsClient(sub, cred, opts); return },
		func() (err error) { c.lbs, err = armnetwork.NewLoadBalancersClient(sub, cred, opts); return },
		func() (err error) {
			c.identities, err = armmsi.NewUserAssignedIdentitiesClient(sub, cred, opts)
			return
		},
		func() (err error) { c.vaults, err = armkeyvault.NewVaultsClient(sub, cred, opts); return },
		func() (err error) { c.secrets, err = armkeyvault.NewSecretsClient(sub, cred, opts); return },
		func() (err error) { c.roles, err = armauthorization.NewRoleAssignmentsClient(sub, cred, opts); return },
		func() (err error) { c.skus, err = armcompute.NewResourceSKUsClient(sub, cred, opts); return },
		func() (err error) { c.usages, err = armcompute.NewUsageClient(sub, cred, opts); return },
		func() (err error) {
			c.scaleSets, err = armcompute.NewVirtualMachineScaleSetsClient(sub, cred, opts)
			return
		},
		func() (err error) { c.vms, err = armcompute.NewVirtualMachinesClient(sub, cred, opts); return },
		func() (err error) {
			c.upgrades, err = armcompute.NewVirtualMachineScaleSetRollingUpgradesClient(sub, cred, opts)
			return
		},
	}
	for _, f := range build {
		if err := f(); err != nil {
			return nil, "", fmt.Errorf("building the Azure clients: %w", err)
		}
	}
	c.dataOptions = &azsecrets.ClientOptions{
		ClientOptions: opts.ClientOptions,
		// A custom cloud's vaults (the lab's) answer on the resource manager's host, not a
		// subdomain of the challenge's resource.
		DisableChallengeResourceVerification: b.cfg.ResourceManagerEndpoint != "",
	}
	if b.cache.m == nil {
		b.cache.m = map[string]*clients{}
	}
	b.cache.m[strings.ToLower(sub)] = c
	return c, sub, nil
}

// secretsData is a Key Vault data-plane client for the vault at vaultURI.
func (c *clients) secretsData(vaultURI string) (*azsecrets.Client, error) {
	return azsecrets.NewClient(vaultURI, c.cred, c.dataOptions)
}

// pollFrequency is how often long-running operations are polled: the SDK's default unless a
// test sets one.
func (b *Backend) pollFrequency() time.Duration {
	if b.cfg.TestHooks != nil && b.cfg.TestHooks.PollFrequency > 0 {
		return b.cfg.TestHooks.PollFrequency
	}
	return 0
}

// operation is a long-running operation as an SDK Begin call returns it.
type operation[T any] struct {
	p   *runtime.Poller[T]
	err error
}

// started wraps what a Begin call returns: started(client.BeginX(...)).wait(ctx, b).
func started[T any](p *runtime.Poller[T], err error) operation[T] { return operation[T]{p, err} }

// wait polls the operation until it is done, within ctx (the resource's timeout).
func (o operation[T]) wait(ctx context.Context, b *Backend) (T, error) {
	var zero T
	if o.err != nil {
		return zero, o.err
	}
	return o.p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: b.pollFrequency()})
}

// isNotFound reports whether err is Azure's 404.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == 404
}

// errorCode is the Azure error code of err ("" when err is no Azure response error).
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// keyedMutex is a mutex per key.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks key's mutex and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	m, ok := k.m[strings.ToLower(key)]
	if !ok {
		m = &sync.Mutex{}
		k.m[strings.ToLower(key)] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// str is *p, or "" when p is nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// isTrue is *p, or false when p is nil.
func isTrue(p *bool) bool { return p != nil && *p }

// deref is *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
