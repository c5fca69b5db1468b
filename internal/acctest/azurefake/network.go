package azurefake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	networkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	resourcesfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/fake"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// clone deep-copies an SDK model through its JSON form, so callers never share state.
func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // SDK models always marshal
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

func (c *Cloud) resourcesServer() *resourcesfake.ServerFactory {
	return &resourcesfake.ServerFactory{ResourceGroupsServer: resourcesfake.ResourceGroupsServer{
		Get: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientGetOptions) (azfake.Responder[armresources.ResourceGroupsClientGetResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			rg := c.groups[key(c.rgID(name))]
			if rg == nil {
				return fail[azfake.Responder[armresources.ResourceGroupsClientGetResponse]](
					errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", name))
			}
			return ok(armresources.ResourceGroupsClientGetResponse{ResourceGroup: *clone(rg)})
		},
	}}
}

// checkCreate is what every create checks: the resource group exists and a known location is
// named; callers hold c.mu.
func (c *Cloud) checkCreate(rg string, location *string) *apiError {
	if c.groups[key(c.rgID(rg))] == nil {
		return errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
	}
	if location == nil || *location == "" {
		return errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if !slices.ContainsFunc(c.opts.Locations, func(l string) bool { return strings.EqualFold(l, *location) }) {
		return errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type. List of available regions is '%s'.", *location, strings.Join(c.opts.Locations, ","))
	}
	return nil
}

func (c *Cloud) networkServer() *networkfake.ServerFactory {
	return &networkfake.ServerFactory{
		VirtualNetworksServer: networkfake.VirtualNetworksServer{
			Get: func(_ context.Context, rg, name string, _ *armnetwork.VirtualNetworksClientGetOptions) (azfake.Responder[armnetwork.VirtualNetworksClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				id := c.resourceID(rg, "Microsoft.Network", "virtualNetworks/"+name)
				v := c.vnets[key(id)]
				if v == nil {
					return fail[azfake.Responder[armnetwork.VirtualNetworksClientGetResponse]](notFound("Microsoft.Network/virtualNetworks", id))
				}
				return ok(armnetwork.VirtualNetworksClientGetResponse{VirtualNetwork: *clone(v)})
			},
		},
		SubnetsServer: networkfake.SubnetsServer{
			Get: func(_ context.Context, rg, vnet, name string, _ *armnetwork.SubnetsClientGetOptions) (azfake.Responder[armnetwork.SubnetsClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				id := c.resourceID(rg, "Microsoft.Network", "virtualNetworks/"+vnet+"/subnets/"+name)
				s := c.findSubnet(id)
				if s == nil {
					return fail[azfake.Responder[armnetwork.SubnetsClientGetResponse]](notFound("Microsoft.Network/virtualNetworks/subnets", id))
				}
				return ok(armnetwork.SubnetsClientGetResponse{Subnet: *clone(s)})
			},
		},
		SecurityGroupsServer: networkfake.SecurityGroupsServer{
			BeginCreateOrUpdate: c.putNSG,
			Get: func(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				id := c.resourceID(rg, "Microsoft.Network", "networkSecurityGroups/"+name)
				n := c.nsgs[key(id)]
				if n == nil {
					return fail[azfake.Responder[armnetwork.SecurityGroupsClientGetResponse]](notFound("Microsoft.Network/networkSecurityGroups", id))
				}
				return ok(armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: *clone(n)})
			},
			BeginDelete: c.deleteNSG,
		},
		LoadBalancersServer: networkfake.LoadBalancersServer{
			BeginCreateOrUpdate: c.putLB,
			Get: func(_ context.Context, rg, name string, _ *armnetwork.LoadBalancersClientGetOptions) (azfake.Responder[armnetwork.LoadBalancersClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				id := c.resourceID(rg, "Microsoft.Network", "loadBalancers/"+name)
				lb := c.lbs[key(id)]
				if lb == nil {
					return fail[azfake.Responder[armnetwork.LoadBalancersClientGetResponse]](notFound("Microsoft.Network/loadBalancers", id))
				}
				return ok(armnetwork.LoadBalancersClientGetResponse{LoadBalancer: *clone(lb)})
			},
			BeginDelete: c.deleteLB,
			NewListPager: func(rg string, _ *armnetwork.LoadBalancersClientListOptions) azfake.PagerResponder[armnetwork.LoadBalancersClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				prefix := key(c.rgID(rg)) + "/"
				var out []*armnetwork.LoadBalancer
				for k, lb := range c.lbs {
					if strings.HasPrefix(k, prefix) {
						out = append(out, clone(lb))
					}
				}
				slices.SortFunc(out, func(a, b *armnetwork.LoadBalancer) int { return strings.Compare(*a.ID, *b.ID) })
				return pages(out, 0, func(v []*armnetwork.LoadBalancer) armnetwork.LoadBalancersClientListResponse {
					return armnetwork.LoadBalancersClientListResponse{LoadBalancerListResult: armnetwork.LoadBalancerListResult{Value: v}}
				})
			},
		},
	}
}

func (c *Cloud) putNSG(ctx context.Context, rg, name string, p armnetwork.SecurityGroup, _ *armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
	type R = azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse]
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.checkCreate(rg, p.Location); e != nil {
		return fail[R](e)
	}
	id := c.resourceID(rg, "Microsoft.Network", "networkSecurityGroups/"+name)
	if p.Properties == nil {
		p.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	if e := validateRules(p.Properties.SecurityRules); e != nil {
		return fail[R](e)
	}
	old := c.nsgs[key(id)]
	n := clone(&p)
	n.ID, n.Name, n.Type, n.Etag = to.Ptr(id), to.Ptr(name), to.Ptr("Microsoft.Network/networkSecurityGroups"), to.Ptr(c.etag())
	for _, r := range n.Properties.SecurityRules {
		r.ID = to.Ptr(id + "/securityRules/" + deref(r.Name))
		r.Type = to.Ptr("Microsoft.Network/networkSecurityGroups/securityRules")
		r.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
	}
	n.Properties.DefaultSecurityRules = defaultRules(id)
	if old != nil {
		n.Properties.ResourceGUID = old.Properties.ResourceGUID
	} else {
		n.Properties.ResourceGUID = to.Ptr(newUUID())
	}
	n.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateUpdating)
	c.nsgs[key(id)] = n
	final := clone(n)
	final.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
	c.onFinish(ctx, func() {
		if cur := c.nsgs[key(id)]; cur != nil && deref(cur.Etag) == deref(n.Etag) {
			cur.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
		}
	})
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	return poller(c, status, armnetwork.SecurityGroupsClientCreateOrUpdateResponse{SecurityGroup: *final}), azfake.ErrorResponder{}
}

func defaultRules(id string) []*armnetwork.SecurityRule {
	rule := func(name string, prio int32, dir armnetwork.SecurityRuleDirection, access armnetwork.SecurityRuleAccess, src, dst string) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{
			ID: to.Ptr(id + "/defaultSecurityRules/" + name), Name: to.Ptr(name),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Priority: to.Ptr(prio), Direction: to.Ptr(dir), Access: to.Ptr(access), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk),
				SourceAddressPrefix: to.Ptr(src), DestinationAddressPrefix: to.Ptr(dst), SourcePortRange: to.Ptr("*"), DestinationPortRange: to.Ptr("*"),
				ProvisioningState: to.Ptr(armnetwork.ProvisioningStateSucceeded),
			},
		}
	}
	in, out := armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleDirectionOutbound
	allow, deny := armnetwork.SecurityRuleAccessAllow, armnetwork.SecurityRuleAccessDeny
	return []*armnetwork.SecurityRule{
		rule("AllowVnetInBound", 65000, in, allow, "VirtualNetwork", "VirtualNetwork"),
		rule("AllowAzureLoadBalancerInBound", 65001, in, allow, "AzureLoadBalancer", "*"),
		rule("DenyAllInBound", 65500, in, deny, "*", "*"),
		rule("AllowVnetOutBound", 65000, out, allow, "VirtualNetwork", "VirtualNetwork"),
		rule("AllowInternetOutBound", 65001, out, allow, "*", "Internet"),
		rule("DenyAllOutBound", 65500, out, deny, "*", "*"),
	}
}

// validateRules checks security rules as Azure does: names unique, priorities 100–4096 and unique
// per direction, direction, access and protocol valid, addresses and ports given.
func validateRules(rules []*armnetwork.SecurityRule) *apiError {
	names := map[string]bool{}
	prios := map[string]string{}
	for _, r := range rules {
		name := deref(r.Name)
		if name == "" {
			return errorf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request: a security rule has no name.")
		}
		if names[strings.ToLower(name)] {
			return errorf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request: duplicate security rule name %s.", name)
		}
		names[strings.ToLower(name)] = true
		p := r.Properties
		if p == nil {
			return errorf(http.StatusBadRequest, "SecurityRuleInvalidPriority", "Security rule %s has invalid Priority. Value provided: 0. Allowed range 100-4096.", name)
		}
		if prio := deref(p.Priority); prio < 100 || prio > 4096 {
			return errorf(http.StatusBadRequest, "SecurityRuleInvalidPriority", "Security rule %s has invalid Priority. Value provided: %d. Allowed range 100-4096.", name, prio)
		}
		dir := string(deref(p.Direction))
		if !slices.Contains([]string{"Inbound", "Outbound"}, dir) {
			return errorf(http.StatusBadRequest, "SecurityRuleInvalidDirection", "Security rule %s has invalid Direction %q. Supported values are Inbound and Outbound.", name, dir)
		}
		if a := string(deref(p.Access)); !slices.Contains([]string{"Allow", "Deny"}, a) {
			return errorf(http.StatusBadRequest, "SecurityRuleInvalidAccess", "Security rule %s has invalid Access %q. Supported values are Allow and Deny.", name, a)
		}
		if pr := string(deref(p.Protocol)); !slices.Contains([]string{"Tcp", "Udp", "Icmp", "Esp", "Ah", "*"}, pr) {
			return errorf(http.StatusBadRequest, "SecurityRuleInvalidProtocol", "Security rule %s has invalid Protocol %q. Supported values are Tcp, Udp, Icmp, Esp, Ah and *.", name, pr)
		}
		if p.SourceAddressPrefix == nil && len(p.SourceAddressPrefixes) == 0 && len(p.SourceApplicationSecurityGroups) == 0 {
			return errorf(http.StatusBadRequest, "SecurityRuleParameterContainsUnsupportedValue", "Security rule %s must specify SourceAddressPrefix, SourceAddressPrefixes, or SourceApplicationSecurityGroups.", name)
		}
		if p.DestinationAddressPrefix == nil && len(p.DestinationAddressPrefixes) == 0 && len(p.DestinationApplicationSecurityGroups) == 0 {
			return errorf(http.StatusBadRequest, "SecurityRuleParameterContainsUnsupportedValue", "Security rule %s must specify DestinationAddressPrefix, DestinationAddressPrefixes, or DestinationApplicationSecurityGroups.", name)
		}
		if p.DestinationPortRange == nil && len(p.DestinationPortRanges) == 0 {
			return errorf(http.StatusBadRequest, "SecurityRuleParameterContainsUnsupportedValue", "Security rule %s must specify DestinationPortRange or DestinationPortRanges.", name)
		}
		pk := fmt.Sprintf("%s/%d", dir, deref(p.Priority))
		if other, dup := prios[pk]; dup {
			return errorf(http.StatusBadRequest, "SecurityRuleConflict", "Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction.", name, other)
		}
		prios[pk] = name
	}
	return nil
}

// nsgUsers lists what references a security group: subnets and scale sets' NICs; callers hold c.mu.
func (c *Cloud) nsgUsers(id string) []string {
	var users []string
	for _, v := range c.vnets {
		for _, s := range v.Properties.Subnets {
			if s.Properties != nil && s.Properties.NetworkSecurityGroup != nil && key(deref(s.Properties.NetworkSecurityGroup.ID)) == key(id) {
				users = append(users, deref(s.ID))
			}
		}
	}
	for _, s := range c.scaleSets {
		for _, nic := range s.nics() {
			if nic.Properties != nil && nic.Properties.NetworkSecurityGroup != nil && key(deref(nic.Properties.NetworkSecurityGroup.ID)) == key(id) {
				users = append(users, deref(s.obj.ID))
			}
		}
	}
	slices.Sort(users)
	return slices.Compact(users)
}

func (c *Cloud) deleteNSG(ctx context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse], azfake.ErrorResponder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.resourceID(rg, "Microsoft.Network", "networkSecurityGroups/"+name)
	n := c.nsgs[key(id)]
	if n == nil {
		var p azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse]
		p.SetTerminalResponse(http.StatusNoContent, armnetwork.SecurityGroupsClientDeleteResponse{}, nil)
		return p, azfake.ErrorResponder{}
	}
	if users := c.nsgUsers(id); len(users) > 0 {
		return fail[azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse]](errorf(http.StatusBadRequest, "InUseNetworkSecurityGroupCannotBeDeleted",
			"Network security group %s cannot be deleted because it is in use by the following resources: %s. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.", id, strings.Join(users, ", ")))
	}
	n.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateDeleting)
	c.onFinish(ctx, func() { delete(c.nsgs, key(id)) })
	return poller(c, http.StatusOK, armnetwork.SecurityGroupsClientDeleteResponse{}), azfake.ErrorResponder{}
}

func (c *Cloud) putLB(ctx context.Context, rg, name string, p armnetwork.LoadBalancer, _ *armnetwork.LoadBalancersClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.LoadBalancersClientCreateOrUpdateResponse], azfake.ErrorResponder) {
	type R = azfake.PollerResponder[armnetwork.LoadBalancersClientCreateOrUpdateResponse]
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.checkCreate(rg, p.Location); e != nil {
		return fail[R](e)
	}
	id := c.resourceID(rg, "Microsoft.Network", "loadBalancers/"+name)
	lb := clone(&p)
	lb.ID, lb.Name, lb.Type, lb.Etag = to.Ptr(id), to.Ptr(name), to.Ptr("Microsoft.Network/loadBalancers"), to.Ptr(c.etag())
	if lb.SKU == nil || !strings.EqualFold(string(deref(lb.SKU.Name)), "Standard") {
		return fail[R](errorf(http.StatusBadRequest, "InvalidLoadBalancerSku",
			"Load balancer %s must use SKU Standard (Basic load balancers are retired and cannot be used with Flexible scale sets).", id))
	}
	if lb.Properties == nil || len(lb.Properties.FrontendIPConfigurations) == 0 {
		return fail[R](errorf(http.StatusBadRequest, "LoadBalancerMustHaveAtLeastOneFrontendIpConfiguration", "Load balancer %s must have at least one frontend IP configuration.", id))
	}
	props := lb.Properties
	children := map[string]bool{}
	name2id := func(kind, n string) string { return id + "/" + kind + "/" + n }
	for _, f := range props.FrontendIPConfigurations {
		f.ID = to.Ptr(name2id("frontendIPConfigurations", deref(f.Name)))
		children[key(*f.ID)] = true
		fp := f.Properties
		if fp == nil || fp.Subnet == nil || fp.Subnet.ID == nil {
			return fail[R](errorf(http.StatusBadRequest, "InvalidRequestFormat", "Frontend IP configuration %s must name a subnet: this fake serves internal load balancers only.", *f.ID))
		}
		subnet := c.findSubnet(*fp.Subnet.ID)
		if subnet == nil {
			return fail[R](errorf(http.StatusBadRequest, "InvalidResourceReference",
				"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", *fp.Subnet.ID, id))
		}
		switch deref(fp.PrivateIPAllocationMethod) {
		case armnetwork.IPAllocationMethodDynamic:
			// Azure keeps a dynamic address while the frontend stays in its subnet.
			if kept := c.frontendIP(id, deref(f.Name), *fp.Subnet.ID); kept != "" {
				fp.PrivateIPAddress = to.Ptr(kept)
			} else {
				fp.PrivateIPAddress = to.Ptr(c.allocateIP(subnet))
			}
		case armnetwork.IPAllocationMethodStatic:
			addr, err := netip.ParseAddr(deref(fp.PrivateIPAddress))
			prefix, perr := netip.ParsePrefix(deref(subnet.Properties.AddressPrefix))
			if err != nil || perr != nil || !prefix.Contains(addr) {
				return fail[R](errorf(http.StatusBadRequest, "PrivateIPAddressNotInSubnet",
					"IP address %s does not belong to subnet %s with address prefix %s.", deref(fp.PrivateIPAddress), *fp.Subnet.ID, deref(subnet.Properties.AddressPrefix)))
			}
		default:
			return fail[R](errorf(http.StatusBadRequest, "InvalidRequestFormat",
				"Frontend IP configuration %s must set privateIPAllocationMethod to Dynamic or Static.", *f.ID))
		}
		fp.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
	}
	for _, b := range props.BackendAddressPools {
		b.ID = to.Ptr(name2id("backendAddressPools", deref(b.Name)))
		children[key(*b.ID)] = true
	}
	for _, pr := range props.Probes {
		pr.ID = to.Ptr(name2id("probes", deref(pr.Name)))
		children[key(*pr.ID)] = true
		if pr.Properties == nil || pr.Properties.Protocol == nil || pr.Properties.Port == nil {
			return fail[R](errorf(http.StatusBadRequest, "InvalidRequestFormat", "Probe %s must set protocol and port.", *pr.ID))
		}
		if deref(pr.Properties.Protocol) != armnetwork.ProbeProtocolTCP && pr.Properties.RequestPath == nil {
			return fail[R](errorf(http.StatusBadRequest, "ProbeRequestPathRequired", "Probe %s uses %s and must set requestPath.", *pr.ID, *pr.Properties.Protocol))
		}
	}
	ref := func(owner string, r *armnetwork.SubResource, what string) *apiError {
		if r == nil || r.ID == nil {
			return errorf(http.StatusBadRequest, "InvalidRequestFormat", "Load balancing rule %s must reference a %s.", owner, what)
		}
		if !children[key(*r.ID)] {
			return errorf(http.StatusBadRequest, "InvalidResourceReference",
				"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", *r.ID, owner)
		}
		return nil
	}
	for _, r := range props.LoadBalancingRules {
		r.ID = to.Ptr(name2id("loadBalancingRules", deref(r.Name)))
		rp := r.Properties
		if rp == nil || rp.Protocol == nil || rp.FrontendPort == nil {
			return fail[R](errorf(http.StatusBadRequest, "InvalidRequestFormat", "Load balancing rule %s must set protocol and frontendPort.", *r.ID))
		}
		if e := ref(*r.ID, rp.FrontendIPConfiguration, "frontendIPConfiguration"); e != nil {
			return fail[R](e)
		}
		if e := ref(*r.ID, rp.BackendAddressPool, "backendAddressPool"); e != nil {
			return fail[R](e)
		}
		if rp.Probe != nil {
			if e := ref(*r.ID, rp.Probe, "probe"); e != nil {
				return fail[R](e)
			}
		}
	}
	old := c.lbs[key(id)]
	if old != nil {
		props.ResourceGUID = old.Properties.ResourceGUID
	} else {
		props.ResourceGUID = to.Ptr(newUUID())
	}
	props.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateUpdating)
	c.lbs[key(id)] = lb
	final := clone(lb)
	final.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
	c.onFinish(ctx, func() {
		if cur := c.lbs[key(id)]; cur != nil && deref(cur.Etag) == deref(lb.Etag) {
			cur.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateSucceeded)
		}
	})
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	return poller(c, status, armnetwork.LoadBalancersClientCreateOrUpdateResponse{LoadBalancer: *final}), azfake.ErrorResponder{}
}

// allocateIP returns the next free-looking address of a subnet (Azure reserves the first four);
// callers hold c.mu.
func (c *Cloud) allocateIP(s *armnetwork.Subnet) string {
	prefix, err := netip.ParsePrefix(deref(s.Properties.AddressPrefix))
	if err != nil {
		return ""
	}
	addr := prefix.Addr()
	c.seq++
	for range 4 + c.seq%200 {
		addr = addr.Next()
	}
	return addr.String()
}

func (c *Cloud) deleteLB(ctx context.Context, rg, name string, _ *armnetwork.LoadBalancersClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.LoadBalancersClientDeleteResponse], azfake.ErrorResponder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.resourceID(rg, "Microsoft.Network", "loadBalancers/"+name)
	lb := c.lbs[key(id)]
	if lb == nil {
		var p azfake.PollerResponder[armnetwork.LoadBalancersClientDeleteResponse]
		p.SetTerminalResponse(http.StatusNoContent, armnetwork.LoadBalancersClientDeleteResponse{}, nil)
		return p, azfake.ErrorResponder{}
	}
	prefix := key(id) + "/"
	for _, s := range c.scaleSets {
		for _, pool := range s.poolRefs() {
			if strings.HasPrefix(key(pool), prefix) {
				return fail[azfake.PollerResponder[armnetwork.LoadBalancersClientDeleteResponse]](errorf(http.StatusBadRequest, "LoadBalancerInUseByVirtualMachineScaleSet",
					"Cannot delete load balancer %s since its child resources %s are in use by virtual machine scale set %s.", id, pool, deref(s.obj.ID)))
			}
		}
	}
	lb.Properties.ProvisioningState = to.Ptr(armnetwork.ProvisioningStateDeleting)
	c.onFinish(ctx, func() { delete(c.lbs, key(id)) })
	return poller(c, http.StatusOK, armnetwork.LoadBalancersClientDeleteResponse{}), azfake.ErrorResponder{}
}

// frontendIP is the address the existing load balancer id gives frontend name in subnet ("" if
// none); callers hold c.mu.
func (c *Cloud) frontendIP(id, name, subnet string) string {
	old := c.lbs[key(id)]
	if old == nil || old.Properties == nil {
		return ""
	}
	for _, f := range old.Properties.FrontendIPConfigurations {
		if f != nil && deref(f.Name) == name && f.Properties != nil && f.Properties.Subnet != nil &&
			strings.EqualFold(deref(f.Properties.Subnet.ID), subnet) {
			return deref(f.Properties.PrivateIPAddress)
		}
	}
	return ""
}
