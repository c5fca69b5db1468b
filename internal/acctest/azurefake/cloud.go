// Package azurefake is an in-memory Azure for one subscription: the azure-sdk-for-go fake servers
// (each package's fake.ServerFactory) backed by shared state that validates requests the way
// Azure does, keeps references intact, runs long-running operations and rolling upgrades over
// several polls, and injects faults. Tests reach it in-process through Transport and Credential;
// other processes (terraform, tofu, make demo) reach it over HTTPS through Serve.
//
// It imports only the SDK and the standard library, so the backend's and the provider's tests
// can both use it.
package azurefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// Options configure a Cloud. Zero values take the defaults.
type Options struct {
	// SubscriptionID is the one subscription the fake holds (default
	// 00000000-0000-0000-0000-000000000000).
	SubscriptionID string
	// TenantID is the directory identities and vaults belong to (default
	// 11111111-1111-1111-1111-111111111111).
	TenantID string
	// Locations are the regions the fake knows (default eastus and westeurope); a create in
	// another location fails with LocationNotAvailableForResourceType.
	Locations []string
	// PollsPerLRO is how many polls of a long-running operation answer InProgress before the
	// terminal answer (default 2; negative means 0).
	PollsPerLRO int
	// PollsToHealthy is how many observations (VM lists, rolling upgrade reads) a new VM answers
	// HealthState/initializing before it turns healthy (default 1; negative means 0).
	PollsToHealthy int
	// TrustDataPlane lets Key Vault data-plane calls through when a vault's public network
	// access is Disabled, as a private endpoint would; nil means true. Set it to false to see
	// the 403 ForbiddenByConnection a client outside the vault's network gets.
	TrustDataPlane *bool
}

// Cloud is the in-memory state of one subscription. It is safe for concurrent use. Resource IDs
// compare case-insensitively, as in Azure.
type Cloud struct {
	opts Options

	mu         sync.Mutex
	groups     map[string]*armresources.ResourceGroup
	vnets      map[string]*armnetwork.VirtualNetwork
	nsgs       map[string]*armnetwork.SecurityGroup
	lbs        map[string]*armnetwork.LoadBalancer
	identities map[string]*armmsi.Identity
	vaults     map[string]*vault
	deleted    map[string]*vault // soft-deleted vaults by lower-case name
	roles      map[string]*armauthorization.RoleAssignment
	scaleSets  map[string]*scaleSet
	skus       []*armcompute.ResourceSKU
	usage      map[string]map[string]*usage // location -> lower-case name -> usage
	finishers  map[string]func()            // lower-case operation path -> state change at the end of its LRO
	pagers     map[string]string            // path of a pager that has more pages -> API name
	lros       map[string]string            // path of an unfinished LRO -> API name
	faults     []*Fault
	requests   []Request
	tokens     map[string]bool
	unhealthyN map[string]int // scale set ID -> VMs kept unhealthy
	seq        int
	labURL     string // the lab's URL once Serve runs: vault URIs point there

	transports transports
}

type usage struct {
	name, localized string
	current, limit  int64
}

// New returns an empty subscription holding DefaultSKUs and the default quotas.
func New(opts Options) *Cloud {
	if opts.SubscriptionID == "" {
		opts.SubscriptionID = "00000000-0000-0000-0000-000000000000"
	}
	if opts.TenantID == "" {
		opts.TenantID = "11111111-1111-1111-1111-111111111111"
	}
	if len(opts.Locations) == 0 {
		opts.Locations = []string{"eastus", "westeurope"}
	}
	if opts.PollsPerLRO == 0 {
		opts.PollsPerLRO = 2
	}
	opts.PollsPerLRO = max(opts.PollsPerLRO, 0)
	if opts.PollsToHealthy == 0 {
		opts.PollsToHealthy = 1
	}
	opts.PollsToHealthy = max(opts.PollsToHealthy, 0)
	if opts.TrustDataPlane == nil {
		opts.TrustDataPlane = to.Ptr(true)
	}
	c := &Cloud{
		opts:       opts,
		groups:     map[string]*armresources.ResourceGroup{},
		vnets:      map[string]*armnetwork.VirtualNetwork{},
		nsgs:       map[string]*armnetwork.SecurityGroup{},
		lbs:        map[string]*armnetwork.LoadBalancer{},
		identities: map[string]*armmsi.Identity{},
		vaults:     map[string]*vault{},
		deleted:    map[string]*vault{},
		roles:      map[string]*armauthorization.RoleAssignment{},
		scaleSets:  map[string]*scaleSet{},
		usage:      map[string]map[string]*usage{},
		finishers:  map[string]func(){},
		pagers:     map[string]string{},
		lros:       map[string]string{},
		tokens:     map[string]bool{},
	}
	c.SetSKUs(DefaultSKUs())
	c.transports = c.newTransports()
	return c
}

// SubscriptionID is the subscription the fake holds.
func (c *Cloud) SubscriptionID() string { return c.opts.SubscriptionID }

// TenantID is the directory the fake's identities belong to.
func (c *Cloud) TenantID() string { return c.opts.TenantID }

func (c *Cloud) rgID(rg string) string {
	return "/subscriptions/" + c.opts.SubscriptionID + "/resourceGroups/" + rg
}

func (c *Cloud) resourceID(rg, provider, name string) string {
	return c.rgID(rg) + "/providers/" + provider + "/" + name
}

func key(id string) string { return strings.ToLower(strings.TrimSuffix(id, "/")) }

// AddResourceGroup seeds a resource group.
func (c *Cloud) AddResourceGroup(name, location string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.rgID(name)
	c.groups[key(id)] = &armresources.ResourceGroup{
		ID: to.Ptr(id), Name: to.Ptr(name), Location: to.Ptr(location), Type: to.Ptr("Microsoft.Resources/resourceGroups"),
		Properties: &armresources.ResourceGroupProperties{ProvisioningState: to.Ptr("Succeeded")},
	}
}

// AddVirtualNetwork seeds a virtual network with subnets (name -> address prefix) in an existing
// resource group and returns the subnets' IDs by name.
func (c *Cloud) AddVirtualNetwork(rg, name, location string, addressSpace []string, subnets map[string]string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.resourceID(rg, "Microsoft.Network", "virtualNetworks/"+name)
	vnet := &armnetwork.VirtualNetwork{
		ID: to.Ptr(id), Name: to.Ptr(name), Location: to.Ptr(location), Type: to.Ptr("Microsoft.Network/virtualNetworks"),
		Etag: to.Ptr(c.etag()),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace:      &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(addressSpace...)},
			ProvisioningState: to.Ptr(armnetwork.ProvisioningStateSucceeded),
		},
	}
	ids := map[string]string{}
	names := make([]string, 0, len(subnets))
	for n := range subnets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sid := id + "/subnets/" + n
		ids[n] = sid
		vnet.Properties.Subnets = append(vnet.Properties.Subnets, &armnetwork.Subnet{
			ID: to.Ptr(sid), Name: to.Ptr(n), Type: to.Ptr("Microsoft.Network/virtualNetworks/subnets"),
			Properties: &armnetwork.SubnetPropertiesFormat{
				AddressPrefix:     to.Ptr(subnets[n]),
				ProvisioningState: to.Ptr(armnetwork.ProvisioningStateSucceeded),
			},
		})
	}
	c.vnets[key(id)] = vnet
	return ids
}

// etag returns a new entity tag; callers hold c.mu.
func (c *Cloud) etag() string {
	c.seq++
	return fmt.Sprintf(`W/"%08x-0000-0000-0000-%012x"`, c.seq, c.seq)
}

// newUUID returns a new random UUID.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// findSubnet returns a subnet by ID; callers hold c.mu.
func (c *Cloud) findSubnet(id string) *armnetwork.Subnet {
	k := key(id)
	i := strings.Index(k, "/subnets/")
	if i < 0 {
		return nil
	}
	vnet := c.vnets[k[:i]]
	if vnet == nil || vnet.Properties == nil {
		return nil
	}
	for _, s := range vnet.Properties.Subnets {
		if key(deref(s.ID)) == k {
			return s
		}
	}
	return nil
}

// Resources lists the IDs of every resource that exists, sorted: resource groups, virtual
// networks, security groups, load balancers, identities, vaults and their secrets, role
// assignments, scale sets and their VMs. Soft-deleted vaults are not listed.
func (c *Cloud) Resources() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	add := func(id *string) { ids = append(ids, deref(id)) }
	for _, r := range c.groups {
		add(r.ID)
	}
	for _, r := range c.vnets {
		add(r.ID)
	}
	for _, r := range c.nsgs {
		add(r.ID)
	}
	for _, r := range c.lbs {
		add(r.ID)
	}
	for _, r := range c.identities {
		add(r.ID)
	}
	for _, v := range c.vaults {
		add(v.obj.ID)
		for _, s := range v.secrets {
			ids = append(ids, deref(v.obj.ID)+"/secrets/"+s.name)
		}
	}
	for _, r := range c.roles {
		add(r.ID)
	}
	for _, s := range c.scaleSets {
		add(s.obj.ID)
		for _, vm := range s.vms {
			ids = append(ids, vm.id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return ids
}

// Get returns a resource as Azure would serialise it (JSON decoded into a map), for assertions.
// Management-plane secrets include their value under properties.value, which Azure never returns.
func (c *Cloud) Get(id string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := c.lookup(id)
	if obj == nil {
		return nil, false
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	return m, true
}

// lookup finds a resource by ID; callers hold c.mu.
func (c *Cloud) lookup(id string) any {
	k := key(id)
	if r, ok := c.groups[k]; ok {
		return r
	}
	if r, ok := c.vnets[k]; ok {
		return r
	}
	if r := c.findSubnet(id); r != nil {
		return r
	}
	if r, ok := c.nsgs[k]; ok {
		return r
	}
	if r, ok := c.lbs[k]; ok {
		return r
	}
	if r, ok := c.identities[k]; ok {
		return r
	}
	if v, ok := c.vaults[k]; ok {
		return v.obj
	}
	if i := strings.Index(k, "/secrets/"); i > 0 {
		if v, ok := c.vaults[k[:i]]; ok {
			if s, ok := v.secrets[k[i+len("/secrets/"):]]; ok {
				out := v.mgmtSecret(s)
				out.Properties.Value = to.Ptr(s.value)
				return out
			}
		}
	}
	if r, ok := c.roles[k]; ok {
		return r
	}
	if s, ok := c.scaleSets[k]; ok {
		return s.obj
	}
	for _, s := range c.scaleSets {
		for i, vm := range s.vms {
			if key(vm.id) == k {
				return c.vmObject(s, i, true)
			}
		}
	}
	return nil
}

// DeleteOutOfBand removes a resource as if someone deleted it in the portal, without the checks
// an API call would meet (references, soft delete). It reports whether the resource existed.
func (c *Cloud) DeleteOutOfBand(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(id)
	for _, m := range []any{c.groups, c.vnets, c.nsgs, c.lbs, c.identities, c.roles} {
		switch m := m.(type) {
		case map[string]*armresources.ResourceGroup:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		case map[string]*armnetwork.VirtualNetwork:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		case map[string]*armnetwork.SecurityGroup:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		case map[string]*armnetwork.LoadBalancer:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		case map[string]*armmsi.Identity:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		case map[string]*armauthorization.RoleAssignment:
			if _, ok := m[k]; ok {
				delete(m, k)
				return true
			}
		}
	}
	if _, ok := c.vaults[k]; ok {
		delete(c.vaults, k)
		return true
	}
	if i := strings.Index(k, "/secrets/"); i > 0 {
		if v, ok := c.vaults[k[:i]]; ok {
			if _, ok := v.secrets[k[i+len("/secrets/"):]]; ok {
				delete(v.secrets, k[i+len("/secrets/"):])
				return true
			}
		}
	}
	if _, ok := c.scaleSets[k]; ok {
		delete(c.scaleSets, k)
		return true
	}
	for _, s := range c.scaleSets {
		for i, vm := range s.vms {
			if key(vm.id) == k {
				s.vms = slices.Delete(s.vms, i, i+1)
				return true
			}
		}
	}
	return false
}

// Request is one request the fake answered (or refused).
type Request struct {
	Method     string
	Path       string // URL path, as sent
	APIVersion string // the api-version query parameter
	Host       string
}

// Requests returns every request seen so far, in order, injected faults and polls included.
func (c *Cloud) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}

// Fault makes the fake answer matching requests with an error before the real handler runs.
type Fault struct {
	Method       string // HTTP method; "" matches any
	PathContains string // case-insensitive substring of the URL path; "" matches any
	Status       int    // e.g. 429, 500, 503
	RetryAfter   string // the Retry-After header value, if any
	Times        int    // how many requests it answers (0 means 1)
}

// Inject adds a fault. Faults are matched in the order they were added.
func (c *Cloud) Inject(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	c.faults = append(c.faults, &f)
}

// takeFault returns the first fault matching req and uses it up once; callers hold c.mu.
func (c *Cloud) takeFault(req *http.Request) *Fault {
	for i, f := range c.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, req.Method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(strings.ToLower(req.URL.Path), strings.ToLower(f.PathContains)) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			c.faults = slices.Delete(c.faults, i, i+1)
		}
		return f
	}
	return nil
}
