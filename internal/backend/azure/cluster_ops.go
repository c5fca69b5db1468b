package azure

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/google/uuid"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// KeyVaultSecretsUser is the built-in role that reads secret values (and nothing else).
const KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6"

// Rule priorities of the cluster's network security group.
const (
	priorityServing     = 100
	priorityProbe       = 110
	priorityDenyVNet    = 4000
	priorityDenyNetwork = 4001
)

func (b *Backend) tags(s ClusterSpec, extra map[string]string) map[string]*string {
	m := map[string]*string{}
	for k, v := range b.cfg.DefaultTags {
		m[k] = to.Ptr(v)
	}
	for k, v := range s.Tags {
		m[k] = to.Ptr(v)
	}
	for k, v := range extra {
		m[k] = to.Ptr(v)
	}
	m[TagCluster] = to.Ptr(s.Name)
	return m
}

// EnsureCluster creates the cluster's objects or brings them in line with s; each is a PUT of
// the whole object, so a retry converges.
func (b *Backend) EnsureCluster(ctx context.Context, s ClusterSpec) (*Cluster, error) {
	if err := checkClusterSpec(s); err != nil {
		return nil, err
	}
	c, sub, err := b.clientsFor(s.SubscriptionID)
	if err != nil {
		return nil, err
	}
	s = s.withDefaults(sub)
	names := ResourceNames(sub, s.ResourceGroup, s.Name)
	out := &Cluster{ID: ClusterID(sub, s.ResourceGroup, s.Name), Name: s.Name, SubscriptionID: sub, ResourceGroup: s.ResourceGroup, Location: s.Location, Spec: s}

	if _, err := c.groups.Get(ctx, s.ResourceGroup, nil); err != nil {
		if isNotFound(err) {
			return nil, &backend.InputError{Attribute: "resource_group", Detail: fmt.Sprintf(
				"resource group %s does not exist in subscription %s: create it (the cluster makes everything inside it), or name another", s.ResourceGroup, sub)}
		}
		return nil, fmt.Errorf("reading resource group %s: %w", s.ResourceGroup, err)
	}
	cidrs, err := allowedCIDRs(ctx, c, s)
	if err != nil {
		return nil, err
	}
	out.AllowedCIDRs = cidrs
	sku, err := findSKU(ctx, c, s.Location, s.VMSize)
	if err != nil {
		return nil, err
	}
	pf, err := checkSKU(sku, s)
	if err != nil {
		return nil, err
	}
	out.Facts = pf

	// The nodes' identity.
	ident, err := c.identities.CreateOrUpdate(ctx, s.ResourceGroup, names.Identity, armmsi.Identity{
		Location: to.Ptr(s.Location), Tags: b.tags(s, nil),
	}, nil)
	if err != nil {
		return out, fmt.Errorf("creating managed identity %s: %w", names.Identity, err)
	}
	out.IdentityID = str(ident.ID)
	if p := ident.Properties; p != nil {
		out.IdentityClientID, out.IdentityPrincipalID, out.TenantID = str(p.ClientID), str(p.PrincipalID), str(p.TenantID)
	}
	if out.TenantID == "" {
		out.TenantID = b.cfg.TenantID
	}

	// The network security group.
	nsg, err := started(c.nsgs.BeginCreateOrUpdate(ctx, s.ResourceGroup, names.SecurityGroup, securityGroup(s, cidrs, b.tags(s, nil)), nil)).wait(ctx, b)
	if err != nil {
		return out, fmt.Errorf("creating network security group %s: %w", names.SecurityGroup, err)
	}
	out.SecurityGroupID = str(nsg.ID)

	// The vault and the identity's read access to its secrets.
	if err := b.ensureVault(ctx, c, s, names, out); err != nil {
		return out, err
	}
	if err := b.ensureRoleAssignment(ctx, c, out); err != nil {
		return out, err
	}

	// The load balancer, keeping the endpoints' pools, probes and rules.
	extra := settingsTags(s)
	extra[tagEncryptionAtHost] = fmt.Sprint(pf.EncryptionAtHost)
	extra[tagGPU] = fmt.Sprintf("%d:%d:%d:%s", pf.GPU.GPUCount, pf.GPU.GPUMemoryMiB, pf.GPU.VCPUs, pf.GPU.GPUModel)
	if err := b.ensureLoadBalancer(ctx, c, s, names, b.tags(s, extra), out); err != nil {
		return out, err
	}
	out.Spec.AllowedCIDRs = s.AllowedCIDRs
	return out, nil
}

// tagEncryptionAtHost keeps whether the cluster's size supports encryption at host, tagGPU a
// node's GPUs ("<count>:<memory MiB>:<vCPUs>:<model>"), so a read (an import) knows them.
const (
	tagEncryptionAtHost = "inferstack-encryption-at-host"
	tagGPU              = "inferstack-gpu"
)

// allowedCIDRs checks the subnet and returns who may reach the serving ports: the spec's CIDRs,
// or the address space of the subnet's virtual network.
func allowedCIDRs(ctx context.Context, c *clients, s ClusterSpec) ([]string, error) {
	m := subnetIDPattern.FindStringSubmatch(s.SubnetID)
	if m == nil {
		return nil, &backend.InputError{Attribute: "subnet_id", Detail: fmt.Sprintf("%q is not a subnet ID", s.SubnetID)}
	}
	if !strings.EqualFold(m[1], s.SubscriptionID) {
		return nil, &backend.InputError{Attribute: "subnet_id", Detail: fmt.Sprintf(
			"the subnet is in subscription %s, the cluster in %s: use a subnet of the cluster's subscription", m[1], s.SubscriptionID)}
	}
	if _, err := c.subnets.Get(ctx, m[2], m[3], m[4], nil); err != nil {
		if isNotFound(err) {
			return nil, &backend.InputError{Attribute: "subnet_id", Detail: fmt.Sprintf("subnet %s of virtual network %s (resource group %s) does not exist", m[4], m[3], m[2])}
		}
		return nil, fmt.Errorf("reading subnet %s: %w", m[4], err)
	}
	if len(s.AllowedCIDRs) > 0 {
		return slices.Sorted(slices.Values(s.AllowedCIDRs)), nil
	}
	vnet, err := c.vnets.Get(ctx, m[2], m[3], nil)
	if err != nil {
		return nil, fmt.Errorf("reading virtual network %s for its address space: %w", m[3], err)
	}
	var out []string
	if p := vnet.Properties; p != nil && p.AddressSpace != nil {
		for _, a := range p.AddressSpace.AddressPrefixes {
			if a != nil {
				out = append(out, *a)
			}
		}
	}
	if len(out) == 0 {
		return nil, &backend.InputError{Attribute: "allowed_cidrs", Detail: fmt.Sprintf(
			"virtual network %s has no address space to default to: set allowed_cidrs", m[3])}
	}
	slices.Sort(out)
	return out, nil
}

// securityGroup admits the serving ports from cidrs and Azure's load-balancer probes, and denies
// everything else inbound, the virtual network's own traffic included.
func securityGroup(s ClusterSpec, cidrs []string, tags map[string]*string) armnetwork.SecurityGroup {
	var ports []*string
	for _, p := range s.ServingPorts {
		ports = append(ports, to.Ptr(fmt.Sprint(p)))
	}
	rule := func(name string, prio int32, access armnetwork.SecurityRuleAccess, from []string, fromTag string, to_ []*string, desc string) *armnetwork.SecurityRule {
		r := &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
			Description: to.Ptr(desc), Priority: to.Ptr(prio), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound),
			Access: to.Ptr(access), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk),
			SourcePortRange: to.Ptr("*"), DestinationAddressPrefix: to.Ptr("*"),
		}}
		if fromTag != "" {
			r.Properties.SourceAddressPrefix = to.Ptr(fromTag)
		} else {
			r.Properties.SourceAddressPrefixes = to.SliceOfPtrs(from...)
		}
		if to_ == nil {
			r.Properties.DestinationPortRange = to.Ptr("*")
		} else {
			r.Properties.DestinationPortRanges = to_
			r.Properties.Protocol = to.Ptr(armnetwork.SecurityRuleProtocolTCP)
		}
		return r
	}
	return armnetwork.SecurityGroup{
		Location: to.Ptr(s.Location), Tags: tags,
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{
			rule("inferstack-serving", priorityServing, armnetwork.SecurityRuleAccessAllow, cidrs, "", ports, "The serving ports from the allowed CIDRs"),
			rule("inferstack-lb-probes", priorityProbe, armnetwork.SecurityRuleAccessAllow, nil, "AzureLoadBalancer", ports, "The load balancer's health probes"),
			rule("inferstack-deny-vnet", priorityDenyVNet, armnetwork.SecurityRuleAccessDeny, nil, "VirtualNetwork", nil, "Nothing else from the virtual network"),
			rule("inferstack-deny-internet", priorityDenyNetwork, armnetwork.SecurityRuleAccessDeny, nil, "Internet", nil, "Nothing from the internet"),
		}},
	}
}

// ensureVault creates the cluster's vault (RBAC mode, soft delete, public network access off
// unless asked) or updates it; a vault of that name left soft-deleted by an earlier destroy is
// recovered.
func (b *Backend) ensureVault(ctx context.Context, c *clients, s ClusterSpec, names Names, out *Cluster) error {
	access, action := "Disabled", armkeyvault.NetworkRuleActionDeny
	if s.KeyVault.PublicNetworkAccess {
		access, action = "Enabled", armkeyvault.NetworkRuleActionAllow
	}
	props := &armkeyvault.VaultProperties{
		TenantID:                  to.Ptr(out.TenantID),
		SKU:                       &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
		EnableRbacAuthorization:   to.Ptr(true),
		EnableSoftDelete:          to.Ptr(true),
		SoftDeleteRetentionInDays: to.Ptr[int32](7),
		PublicNetworkAccess:       to.Ptr(access),
		NetworkACLs: &armkeyvault.NetworkRuleSet{
			Bypass: to.Ptr(armkeyvault.NetworkRuleBypassOptionsAzureServices), DefaultAction: to.Ptr(action),
		},
	}
	existing, err := c.vaults.Get(ctx, s.ResourceGroup, names.Vault, nil)
	switch {
	case err == nil:
		if p := existing.Properties; p != nil && isTrue(p.EnablePurgeProtection) && !s.KeyVault.PurgeProtection {
			return &backend.InputError{Attribute: "key_vault.purge_protection", Detail: fmt.Sprintf(
				"vault %s has purge protection, which Azure cannot turn off: set purge_protection = true", names.Vault)}
		}
		if existing.Properties != nil && existing.Properties.SoftDeleteRetentionInDays != nil {
			props.SoftDeleteRetentionInDays = existing.Properties.SoftDeleteRetentionInDays // fixed once set
		}
	case !isNotFound(err):
		return fmt.Errorf("reading key vault %s: %w", names.Vault, err)
	}
	if s.KeyVault.PurgeProtection {
		props.EnablePurgeProtection = to.Ptr(true)
	}
	params := armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(s.Location), Tags: b.tags(s, nil), Properties: props}
	v, err := started(c.vaults.BeginCreateOrUpdate(ctx, s.ResourceGroup, names.Vault, params, nil)).wait(ctx, b)
	if err != nil && errorCode(err) == "ConflictError" && strings.Contains(strings.ToLower(err.Error()), "soft") {
		// A destroyed cluster's vault, kept by soft delete: take it back.
		props.CreateMode = to.Ptr(armkeyvault.CreateModeRecover)
		v, err = started(c.vaults.BeginCreateOrUpdate(ctx, s.ResourceGroup, names.Vault, params, nil)).wait(ctx, b)
	}
	if err != nil {
		return fmt.Errorf("creating key vault %s: %w", names.Vault, err)
	}
	out.VaultID, out.VaultName = str(v.ID), names.Vault
	if v.Properties != nil {
		out.VaultURI = str(v.Properties.VaultURI)
	}
	return nil
}

// roleAssignmentName is the assignment's name, a UUID fixed by the vault and the identity, so a
// retry finds it.
func roleAssignmentName(vaultID, principal string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(vaultID + "|" + principal + "|" + KeyVaultSecretsUser)))
	u, _ := uuid.FromBytes(sum[:16])
	return u.String()
}

// ensureRoleAssignment lets the nodes' identity read the vault's secrets (Key Vault Secrets
// User on the vault, nothing wider). A new identity may not have reached Microsoft Entra ID's
// replicas yet: PrincipalNotFound is retried for two minutes.
func (b *Backend) ensureRoleAssignment(ctx context.Context, c *clients, out *Cluster) error {
	if out.IdentityPrincipalID == "" {
		return fmt.Errorf("managed identity %s has no principal ID yet: apply again", out.IdentityID)
	}
	name := roleAssignmentName(out.VaultID, out.IdentityPrincipalID)
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(fmt.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", out.SubscriptionID, KeyVaultSecretsUser)),
		PrincipalID:      to.Ptr(out.IdentityPrincipalID),
		PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}
	deadline, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := wait.Until(deadline, b.interval(5*time.Second), "the identity's access to the vault", func(ctx context.Context) (bool, error, error) {
		ra, err := c.roles.Create(ctx, out.VaultID, name, params, nil)
		switch {
		case err == nil:
			out.RoleAssignmentID = str(ra.ID)
			return true, nil, nil
		case errorCode(err) == "RoleAssignmentExists":
			out.RoleAssignmentID = out.VaultID + "/providers/Microsoft.Authorization/roleAssignments/" + name
			return true, nil, nil
		case errorCode(err) == "PrincipalNotFound":
			return false, err, nil
		}
		return false, nil, fmt.Errorf("letting identity %s read the secrets of vault %s: %w", out.IdentityID, out.VaultName, err)
	})
	return err
}

// interval is d, or the test hooks' poll frequency.
func (b *Backend) interval(d time.Duration) time.Duration {
	if f := b.pollFrequency(); f > 0 {
		return f
	}
	return d
}

// ensureLoadBalancer creates the internal Standard load balancer (one private frontend in the
// subnet, no public IP) or updates it, keeping the endpoints' pools, probes and rules.
func (b *Backend) ensureLoadBalancer(ctx context.Context, c *clients, s ClusterSpec, names Names, tags map[string]*string, out *Cluster) error {
	unlock := b.locks.lock(resourceID(out.SubscriptionID, s.ResourceGroup, "Microsoft.Network", "loadBalancers", names.LoadBalancer))
	defer unlock()
	lb := armnetwork.LoadBalancer{}
	var etag string
	existing, err := c.lbs.Get(ctx, s.ResourceGroup, names.LoadBalancer, nil)
	switch {
	case err == nil:
		lb = existing.LoadBalancer
		etag = str(lb.Etag)
	case !isNotFound(err):
		return fmt.Errorf("reading load balancer %s: %w", names.LoadBalancer, err)
	}
	lb.Location, lb.Tags = to.Ptr(s.Location), tags
	lb.SKU = &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard), Tier: to.Ptr(armnetwork.LoadBalancerSKUTierRegional)}
	if lb.Properties == nil {
		lb.Properties = &armnetwork.LoadBalancerPropertiesFormat{}
	}
	fe := &armnetwork.FrontendIPConfiguration{Name: to.Ptr(names.Frontend), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
		Subnet: &armnetwork.Subnet{ID: to.Ptr(s.SubnetID)}, PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
	}}
	// No zones on the frontend: a Standard load balancer's frontend without zones is
	// zone-redundant in regions that have zones, whichever zones the nodes use.
	for _, old := range lb.Properties.FrontendIPConfigurations {
		if old != nil && str(old.Name) == names.Frontend && old.Properties != nil && old.Properties.PrivateIPAddress != nil &&
			old.Properties.Subnet != nil && strings.EqualFold(str(old.Properties.Subnet.ID), s.SubnetID) {
			// Keep the address the endpoints' URLs name.
			fe.Properties.PrivateIPAddress = old.Properties.PrivateIPAddress
		}
	}
	lb.Properties.FrontendIPConfigurations = []*armnetwork.FrontendIPConfiguration{fe}
	lb.Etag, lb.ID, lb.Name, lb.Type = nil, nil, nil, nil
	done, err := started(c.lbs.BeginCreateOrUpdate(ifMatch(ctx, etag), s.ResourceGroup, names.LoadBalancer, lb, nil)).wait(ctx, b)
	if err != nil {
		return fmt.Errorf("creating load balancer %s: %w", names.LoadBalancer, err)
	}
	readLoadBalancer(done.LoadBalancer, out)
	return nil
}

// ifMatch makes a write conditional on the object being as read (etag ""; no condition).
func ifMatch(ctx context.Context, etag string) context.Context {
	if etag == "" {
		return ctx
	}
	return policy.WithHTTPHeader(ctx, http.Header{"If-Match": []string{etag}})
}

// readLoadBalancer fills out from the load balancer: its IDs, frontend address, and the
// settings its tags keep.
func readLoadBalancer(lb armnetwork.LoadBalancer, out *Cluster) {
	out.LoadBalancerID = str(lb.ID)
	if lb.Properties != nil {
		for _, fe := range lb.Properties.FrontendIPConfigurations {
			if fe != nil {
				out.FrontendID = str(fe.ID)
				if fe.Properties != nil {
					out.PrivateIP = str(fe.Properties.PrivateIPAddress)
				}
			}
		}
	}
	tags := map[string]string{}
	for k, v := range lb.Tags {
		if v != nil {
			tags[k] = *v
		}
	}
	spec := specFromTags(tags)
	spec.Name, spec.SubscriptionID, spec.ResourceGroup, spec.Location = out.Name, out.SubscriptionID, out.ResourceGroup, str(lb.Location)
	if out.Location == "" {
		out.Location = spec.Location
	}
	spec.Tags = map[string]string{}
	for k, v := range tags {
		if !strings.HasPrefix(k, "inferstack-") {
			spec.Tags[k] = v
		}
	}
	out.Spec = spec
	if out.Facts == nil {
		out.Facts = &Preflight{EncryptionAtHost: tags[tagEncryptionAtHost] == "true"}
		if g := strings.SplitN(tags[tagGPU], ":", 4); len(g) == 4 {
			out.Facts.GPU.Name = spec.VMSize
			out.Facts.GPU.GPUModel = g[3]
			out.Facts.GPU.GPUCount, _ = strconv.ParseInt(g[0], 10, 64)
			out.Facts.GPU.GPUMemoryMiB, _ = strconv.ParseInt(g[1], 10, 64)
			out.Facts.GPU.VCPUs, _ = strconv.ParseInt(g[2], 10, 64)
		}
	}
}

// FindCluster reads the cluster's objects; ErrNotFound when none exists, Missing for those that do not.
func (b *Backend) FindCluster(ctx context.Context, sub, group, name string) (*Cluster, error) {
	c, sub, err := b.clientsFor(sub)
	if err != nil {
		return nil, err
	}
	names := ResourceNames(sub, group, name)
	out := &Cluster{ID: ClusterID(sub, group, name), Name: name, SubscriptionID: sub, ResourceGroup: group}
	found := 0
	miss := func(what string, err error) error {
		if isNotFound(err) {
			out.Missing = append(out.Missing, what)
			return nil
		}
		return fmt.Errorf("reading the %s of cluster %s: %w", what, name, err)
	}
	if lb, err := c.lbs.Get(ctx, group, names.LoadBalancer, nil); err == nil {
		found++
		readLoadBalancer(lb.LoadBalancer, out)
	} else if err := miss("load balancer", err); err != nil {
		return nil, err
	}
	if nsg, err := c.nsgs.Get(ctx, group, names.SecurityGroup, nil); err == nil {
		found++
		out.SecurityGroupID = str(nsg.ID)
		out.AllowedCIDRs = servingCIDRs(nsg.SecurityGroup)
	} else if err := miss("network security group", err); err != nil {
		return nil, err
	}
	if id, err := c.identities.Get(ctx, group, names.Identity, nil); err == nil {
		found++
		out.IdentityID = str(id.ID)
		if p := id.Properties; p != nil {
			out.IdentityClientID, out.IdentityPrincipalID, out.TenantID = str(p.ClientID), str(p.PrincipalID), str(p.TenantID)
		}
	} else if err := miss("managed identity", err); err != nil {
		return nil, err
	}
	if v, err := c.vaults.Get(ctx, group, names.Vault, nil); err == nil {
		found++
		out.VaultID, out.VaultName = str(v.ID), names.Vault
		if v.Properties != nil {
			out.VaultURI = str(v.Properties.VaultURI)
		}
	} else if err := miss("key vault", err); err != nil {
		return nil, err
	}
	if found == 0 {
		return nil, fmt.Errorf("cluster %s in resource group %s: %w", name, group, backend.ErrNotFound)
	}
	if out.Location == "" {
		out.Location = out.Spec.Location
	}
	return out, nil
}

// servingCIDRs are the sources the serving rule admits.
func servingCIDRs(nsg armnetwork.SecurityGroup) []string {
	if nsg.Properties == nil {
		return nil
	}
	for _, r := range nsg.Properties.SecurityRules {
		if r != nil && str(r.Name) == "inferstack-serving" && r.Properties != nil {
			var out []string
			for _, p := range r.Properties.SourceAddressPrefixes {
				if p != nil {
					out = append(out, *p)
				}
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

// DeleteCluster removes the cluster's objects and waits until they are gone; it refuses while
// endpoints still run on it. The vault is purged unless purge protection keeps it.
func (b *Backend) DeleteCluster(ctx context.Context, sub, group, name string) error {
	c, sub, err := b.clientsFor(sub)
	if err != nil {
		return err
	}
	eps, err := b.endpointsOf(ctx, c, group, name)
	if err != nil {
		return err
	}
	if len(eps) > 0 {
		return fmt.Errorf("cluster %s still has endpoints (%s): destroy them first (inferstack_model_endpoint depends on its cluster, so a plan that destroys both does that)",
			name, strings.Join(eps, ", "))
	}
	names := ResourceNames(sub, group, name)
	ignore404 := func(err error) error {
		if err == nil || isNotFound(err) {
			return nil
		}
		return err
	}
	if _, err := started(c.lbs.BeginDelete(ctx, group, names.LoadBalancer, nil)).wait(ctx, b); ignore404(err) != nil {
		return fmt.Errorf("deleting load balancer %s: %w", names.LoadBalancer, err)
	}
	v, err := c.vaults.Get(ctx, group, names.Vault, nil)
	switch {
	case err == nil:
		if id, err := c.identities.Get(ctx, group, names.Identity, nil); err == nil && id.Properties != nil {
			ra := roleAssignmentName(str(v.ID), str(id.Properties.PrincipalID))
			if _, err := c.roles.Delete(ctx, str(v.ID), ra, nil); ignore404(err) != nil {
				return fmt.Errorf("deleting the identity's access to vault %s: %w", names.Vault, err)
			}
		}
		if _, err := c.vaults.Delete(ctx, group, names.Vault, nil); ignore404(err) != nil {
			return fmt.Errorf("deleting key vault %s: %w", names.Vault, err)
		}
		if p := v.Properties; p == nil || !isTrue(p.EnablePurgeProtection) {
			if _, err := started(c.vaults.BeginPurgeDeleted(ctx, names.Vault, str(v.Location), nil)).wait(ctx, b); ignore404(err) != nil {
				return fmt.Errorf("purging deleted key vault %s (so its name is free again): %w", names.Vault, err)
			}
		}
	case !isNotFound(err):
		return fmt.Errorf("reading key vault %s: %w", names.Vault, err)
	}
	if _, err := c.identities.Delete(ctx, group, names.Identity, nil); ignore404(err) != nil {
		return fmt.Errorf("deleting managed identity %s: %w", names.Identity, err)
	}
	if _, err := started(c.nsgs.BeginDelete(ctx, group, names.SecurityGroup, nil)).wait(ctx, b); ignore404(err) != nil {
		return fmt.Errorf("deleting network security group %s: %w", names.SecurityGroup, err)
	}
	return nil
}

// endpointsOf lists the endpoints (scale sets tagged with the cluster) in group.
func (b *Backend) endpointsOf(ctx context.Context, c *clients, group, cluster string) ([]string, error) {
	pager := c.scaleSets.NewListPager(group, nil)
	var out []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("listing the scale sets of resource group %s: %w", group, err)
		}
		for _, ss := range page.Value {
			if ss != nil && str(ss.Tags[TagCluster]) == cluster && ss.Tags[TagEndpoint] != nil {
				out = append(out, *ss.Tags[TagEndpoint])
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
