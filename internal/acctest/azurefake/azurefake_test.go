package azurefake

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

const (
	rg  = "tf-acc-test-rg"
	loc = "eastus"
)

var poll = &runtime.PollUntilDoneOptions{Frequency: time.Millisecond}

type env struct {
	c      *Cloud
	opts   *arm.ClientOptions
	sub    string
	subnet string
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	c := New(o)
	c.AddResourceGroup(rg, loc)
	ids := c.AddVirtualNetwork(rg, "tf-acc-test-vnet", loc, []string{"10.20.0.0/16"}, map[string]string{"gpu": "10.20.1.0/24"})
	return &env{c: c, sub: c.SubscriptionID(), subnet: ids["gpu"], opts: &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Transport: c.Transport(),
		Retry:     policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
	}}}
}

// must returns v, and panics (failing the test) on err; it takes no *testing.T so that it can
// wrap a call that returns two values.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func wantCode(t *testing.T, err error, status int, code string, contains ...string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a ResponseError %d %s", err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s: %v", re.StatusCode, re.ErrorCode, status, code, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func rule(name string, prio int32) *armnetwork.SecurityRule {
	return &armnetwork.SecurityRule{Name: to.Ptr(name), Properties: &armnetwork.SecurityRulePropertiesFormat{
		Priority: to.Ptr(prio), Direction: to.Ptr(armnetwork.SecurityRuleDirectionInbound), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
		Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), SourceAddressPrefix: to.Ptr("VirtualNetwork"), SourcePortRange: to.Ptr("*"),
		DestinationAddressPrefix: to.Ptr("*"), DestinationPortRange: to.Ptr("8000"),
	}}
}

func TestResourceGroupAndSubnet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	rgs := must(armresources.NewResourceGroupsClient(e.sub, e.c.Credential(), e.opts))
	got := must(rgs.Get(ctx, rg, nil))
	if *got.Location != loc {
		t.Errorf("location %s", *got.Location)
	}
	_, err := rgs.Get(ctx, "nope", nil)
	wantCode(t, err, 404, "ResourceGroupNotFound")
	subnets := must(armnetwork.NewSubnetsClient(e.sub, e.c.Credential(), e.opts))
	s := must(subnets.Get(ctx, rg, "tf-acc-test-vnet", "GPU", nil)) // IDs are case-insensitive
	if *s.Properties.AddressPrefix != "10.20.1.0/24" {
		t.Errorf("prefix %s", *s.Properties.AddressPrefix)
	}
}

func TestSecurityGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	nsgs := must(armnetwork.NewSecurityGroupsClient(e.sub, e.c.Credential(), e.opts))
	put := func(rules ...*armnetwork.SecurityRule) error {
		p, err := nsgs.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-nsg", armnetwork.SecurityGroup{
			Location: to.Ptr(loc), Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: rules},
		}, nil)
		if err != nil {
			return err
		}
		mid := must(nsgs.Get(ctx, rg, "tf-acc-test-nsg", nil))
		if *mid.Properties.ProvisioningState != armnetwork.ProvisioningStateUpdating {
			t.Errorf("during the LRO: %s", *mid.Properties.ProvisioningState)
		}
		_, err = p.PollUntilDone(ctx, poll)
		return err
	}
	wantCode(t, put(rule("a", 50)), 400, "SecurityRuleInvalidPriority", "Value provided: 50")
	wantCode(t, put(rule("a", 100), rule("b", 100)), 400, "SecurityRuleConflict")
	bad := rule("a", 100)
	bad.Properties.Protocol = to.Ptr(armnetwork.SecurityRuleProtocol("Gre"))
	wantCode(t, put(bad), 400, "SecurityRuleInvalidProtocol")
	_, err := nsgs.BeginCreateOrUpdate(ctx, rg, "x", armnetwork.SecurityGroup{}, nil)
	wantCode(t, err, 400, "LocationRequired")

	if err := put(rule("vllm", 100), rule("ssh", 110)); err != nil {
		t.Fatal(err)
	}
	got := must(nsgs.Get(ctx, rg, "tf-acc-test-nsg", nil))
	if *got.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded || len(got.Properties.SecurityRules) != 2 {
		t.Fatalf("got %+v", got.Properties)
	}
	d := must(nsgs.BeginDelete(ctx, rg, "tf-acc-test-nsg", nil))
	must(d.PollUntilDone(ctx, poll))
	_, err = nsgs.Get(ctx, rg, "tf-acc-test-nsg", nil)
	wantCode(t, err, 404, "ResourceNotFound")
}

// cluster creates an identity, an NSG, an internal LB and returns a scale set model using them.
func (e *env) cluster(t *testing.T, name string, capacity int64, customData string) armcompute.VirtualMachineScaleSet {
	t.Helper()
	ctx := context.Background()
	ids := must(armmsi.NewUserAssignedIdentitiesClient(e.sub, e.c.Credential(), e.opts))
	ident := must(ids.CreateOrUpdate(ctx, rg, name+"-id", armmsi.Identity{Location: to.Ptr(loc)}, nil))
	nsgs := must(armnetwork.NewSecurityGroupsClient(e.sub, e.c.Credential(), e.opts))
	np := must(nsgs.BeginCreateOrUpdate(ctx, rg, name+"-nsg", armnetwork.SecurityGroup{Location: to.Ptr(loc),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{rule("vllm", 100)}}}, nil))
	nsg := must(np.PollUntilDone(ctx, poll))
	lbs := must(armnetwork.NewLoadBalancersClient(e.sub, e.c.Credential(), e.opts))
	lbID := "/subscriptions/" + e.sub + "/resourceGroups/" + rg + "/providers/Microsoft.Network/loadBalancers/" + name + "-lb"
	lp := must(lbs.BeginCreateOrUpdate(ctx, rg, name+"-lb", armnetwork.LoadBalancer{
		Location: to.Ptr(loc), SKU: &armnetwork.LoadBalancerSKU{Name: to.Ptr(armnetwork.LoadBalancerSKUNameStandard)},
		Properties: &armnetwork.LoadBalancerPropertiesFormat{
			FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{Name: to.Ptr("fe"), Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{
				Subnet: &armnetwork.Subnet{ID: to.Ptr(e.subnet)}, PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic)}}},
			BackendAddressPools: []*armnetwork.BackendAddressPool{{Name: to.Ptr("pool")}},
			Probes: []*armnetwork.Probe{{Name: to.Ptr("health"), Properties: &armnetwork.ProbePropertiesFormat{
				Protocol: to.Ptr(armnetwork.ProbeProtocolHTTP), Port: to.Ptr[int32](8000), RequestPath: to.Ptr("/health")}}},
			LoadBalancingRules: []*armnetwork.LoadBalancingRule{{Name: to.Ptr("vllm"), Properties: &armnetwork.LoadBalancingRulePropertiesFormat{
				Protocol: to.Ptr(armnetwork.TransportProtocolTCP), FrontendPort: to.Ptr[int32](8000), BackendPort: to.Ptr[int32](8000),
				FrontendIPConfiguration: &armnetwork.SubResource{ID: to.Ptr(lbID + "/frontendIPConfigurations/fe")},
				BackendAddressPool:      &armnetwork.SubResource{ID: to.Ptr(lbID + "/backendAddressPools/pool")},
				Probe:                   &armnetwork.SubResource{ID: to.Ptr(lbID + "/probes/health")},
			}}},
		},
	}, nil))
	lb := must(lp.PollUntilDone(ctx, poll))
	if ip := deref(lb.Properties.FrontendIPConfigurations[0].Properties.PrivateIPAddress); !strings.HasPrefix(ip, "10.20.1.") {
		t.Fatalf("frontend IP %q", ip)
	}
	return armcompute.VirtualMachineScaleSet{
		Location: to.Ptr(loc), Zones: to.SliceOfPtrs("1"),
		SKU: &armcompute.SKU{Name: to.Ptr("Standard_NC24ads_A100_v4"), Capacity: to.Ptr(capacity)},
		Identity: &armcompute.VirtualMachineScaleSetIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcompute.UserAssignedIdentitiesValue{*ident.ID: {}}},
		Properties: &armcompute.VirtualMachineScaleSetProperties{
			OrchestrationMode: to.Ptr(armcompute.OrchestrationModeFlexible), PlatformFaultDomainCount: to.Ptr[int32](1),
			UpgradePolicy: &armcompute.UpgradePolicy{Mode: to.Ptr(armcompute.UpgradeModeRolling),
				RollingUpgradePolicy: &armcompute.RollingUpgradePolicy{MaxBatchInstancePercent: to.Ptr[int32](50)}},
			VirtualMachineProfile: &armcompute.VirtualMachineScaleSetVMProfile{
				OSProfile: &armcompute.VirtualMachineScaleSetOSProfile{ComputerNamePrefix: to.Ptr("gpu"), AdminUsername: to.Ptr("azureuser"),
					CustomData: to.Ptr(base64.StdEncoding.EncodeToString([]byte(customData)))},
				StorageProfile: &armcompute.VirtualMachineScaleSetStorageProfile{ImageReference: &armcompute.ImageReference{
					Publisher: to.Ptr("microsoft-dsvm"), Offer: to.Ptr("ubuntu-hpc"), SKU: to.Ptr("2204"), Version: to.Ptr("latest")}},
				NetworkProfile: &armcompute.VirtualMachineScaleSetNetworkProfile{
					NetworkAPIVersion: to.Ptr(armcompute.NetworkAPIVersionTwoThousandTwenty1101),
					HealthProbe:       &armcompute.APIEntityReference{ID: to.Ptr(lbID + "/probes/health")},
					NetworkInterfaceConfigurations: []*armcompute.VirtualMachineScaleSetNetworkConfiguration{{
						Name: to.Ptr("nic"), Properties: &armcompute.VirtualMachineScaleSetNetworkConfigurationProperties{
							Primary: to.Ptr(true), NetworkSecurityGroup: &armcompute.SubResource{ID: nsg.ID},
							IPConfigurations: []*armcompute.VirtualMachineScaleSetIPConfiguration{{Name: to.Ptr("ip"), Properties: &armcompute.VirtualMachineScaleSetIPConfigurationProperties{
								Subnet:                          &armcompute.APIEntityReference{ID: to.Ptr(e.subnet)},
								LoadBalancerBackendAddressPools: []*armcompute.SubResource{{ID: to.Ptr(lbID + "/backendAddressPools/pool")}},
							}}},
						}}},
				},
			},
		},
	}
}

func listVMs(t *testing.T, e *env, vmssID string) []*armcompute.VirtualMachine {
	t.Helper()
	vms := must(armcompute.NewVirtualMachinesClient(e.sub, e.c.Credential(), e.opts))
	pager := vms.NewListPager(rg, &armcompute.VirtualMachinesClientListOptions{
		Filter: to.Ptr("'virtualMachineScaleSet/id' eq '" + vmssID + "'"), Expand: to.Ptr(armcompute.ExpandTypeForListVMsInstanceView)})
	var out []*armcompute.VirtualMachine
	for pager.More() {
		out = append(out, must(pager.NextPage(context.Background())).Value...)
	}
	return out
}

func TestScaleSetLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	model := e.cluster(t, "tf-acc-test-a", 4, "#cloud-config\nv1")
	sets := must(armcompute.NewVirtualMachineScaleSetsClient(e.sub, e.c.Credential(), e.opts))
	cp := must(sets.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-a", model, nil))
	got := must(sets.Get(ctx, rg, "tf-acc-test-a", nil))
	if *got.Properties.ProvisioningState != "Creating" {
		t.Errorf("during create: %s", *got.Properties.ProvisioningState)
	}
	created := must(cp.PollUntilDone(ctx, poll))
	id := *created.ID
	if created.Properties.VirtualMachineProfile.OSProfile.CustomData != nil {
		t.Error("custom data returned")
	}

	vms := listVMs(t, e, id)
	if len(vms) != 4 {
		t.Fatalf("%d VMs", len(vms))
	}
	for _, vm := range vms {
		if !strings.EqualFold(*vm.Properties.VirtualMachineScaleSet.ID, id) || !strings.HasPrefix(*vm.Name, "tf-acc-test-a_") {
			t.Errorf("vm %s of %s", *vm.Name, *vm.Properties.VirtualMachineScaleSet.ID)
		}
		if h := *vm.Properties.InstanceView.VMHealth.Status.Code; h != "HealthState/initializing" {
			t.Errorf("first list: %s", h)
		}
	}
	for _, vm := range listVMs(t, e, id) {
		if h := *vm.Properties.InstanceView.VMHealth.Status.Code; h != "HealthState/healthy" {
			t.Errorf("second list: %s", h)
		}
	}

	// Usage counts the scale set's vCPUs.
	usage := must(armcompute.NewUsageClient(e.sub, e.c.Credential(), e.opts))
	up := usage.NewListPager(loc, nil)
	found := false
	for up.More() {
		for _, u := range must(up.NextPage(ctx)).Value {
			if *u.Name.Value == "standardNCADSA100v4Family" {
				found = true
				if *u.CurrentValue != 96 || *u.Limit != 200 {
					t.Errorf("family usage %d/%d", *u.CurrentValue, *u.Limit)
				}
			}
		}
	}
	if !found {
		t.Error("no family usage")
	}

	// A new model rolls out in batches of 50% of 4.
	upgrades := must(armcompute.NewVirtualMachineScaleSetRollingUpgradesClient(e.sub, e.c.Credential(), e.opts))
	_, err := upgrades.GetLatest(ctx, rg, "tf-acc-test-a", nil)
	wantCode(t, err, 404, "NotFound")
	patch := armcompute.VirtualMachineScaleSetUpdate{Properties: &armcompute.VirtualMachineScaleSetUpdateProperties{
		VirtualMachineProfile: &armcompute.VirtualMachineScaleSetUpdateVMProfile{OSProfile: &armcompute.VirtualMachineScaleSetUpdateOSProfile{
			CustomData: to.Ptr(base64.StdEncoding.EncodeToString([]byte("#cloud-config\nv2")))}}}}
	upd := must(sets.BeginUpdate(ctx, rg, "tf-acc-test-a", patch, nil))
	must(upd.PollUntilDone(ctx, poll))
	var last armcompute.RollingUpgradeStatusCode
	sawProgress := false
	for range 30 {
		st := must(upgrades.GetLatest(ctx, rg, "tf-acc-test-a", nil))
		last = *st.Properties.RunningStatus.Code
		if *st.Properties.Progress.InProgressInstanceCount > 0 {
			sawProgress = true
		}
		if last != armcompute.RollingUpgradeStatusCodeRollingForward {
			break
		}
		listVMs(t, e, id)
	}
	if last != armcompute.RollingUpgradeStatusCodeCompleted || !sawProgress {
		t.Fatalf("upgrade ended %s (progress seen %v)", last, sawProgress)
	}
	if n := e.c.MaxReplacedAtOnce(id); n < 1 || n > 2 {
		t.Errorf("replaced %d at once, batch is 2", n)
	}
	for _, vm := range e.c.VMs(id) {
		if !vm.Latest || vm.CustomData != "#cloud-config\nv2" {
			t.Errorf("vm %+v not on the latest model", vm)
		}
	}

	// References hold: the NSG and LB are in use.
	nsgs := must(armnetwork.NewSecurityGroupsClient(e.sub, e.c.Credential(), e.opts))
	_, err = nsgs.BeginDelete(ctx, rg, "tf-acc-test-a-nsg", nil)
	wantCode(t, err, 400, "InUseNetworkSecurityGroupCannotBeDeleted")
	lbs := must(armnetwork.NewLoadBalancersClient(e.sub, e.c.Credential(), e.opts))
	_, err = lbs.BeginDelete(ctx, rg, "tf-acc-test-a-lb", nil)
	wantCode(t, err, 400, "LoadBalancerInUseByVirtualMachineScaleSet")

	del := must(sets.BeginDelete(ctx, rg, "tf-acc-test-a", &armcompute.VirtualMachineScaleSetsClientBeginDeleteOptions{ForceDeletion: to.Ptr(true)}))
	must(del.PollUntilDone(ctx, poll))
	must(must(lbs.BeginDelete(ctx, rg, "tf-acc-test-a-lb", nil)).PollUntilDone(ctx, poll))
	must(must(nsgs.BeginDelete(ctx, rg, "tf-acc-test-a-nsg", nil)).PollUntilDone(ctx, poll))
	ids := must(armmsi.NewUserAssignedIdentitiesClient(e.sub, e.c.Credential(), e.opts))
	must(ids.Delete(ctx, rg, "tf-acc-test-a-id", nil))
	left := e.c.Resources()
	if len(left) != 2 { // the seeded resource group and virtual network
		t.Errorf("left behind: %q", left)
	}
}

func TestScaleSetValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{PollsPerLRO: -1})
	ctx := context.Background()
	sets := must(armcompute.NewVirtualMachineScaleSetsClient(e.sub, e.c.Credential(), e.opts))
	base := e.cluster(t, "tf-acc-test-v", 1, "x")
	try := func(edit func(m *armcompute.VirtualMachineScaleSet)) error {
		m := *clone(&base)
		edit(&m)
		_, err := sets.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-v", m, nil)
		return err
	}
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) { m.SKU.Name = to.Ptr("Standard_ND96isr_H200_v5") }), 409, "SkuNotAvailable")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) { m.SKU.Name = to.Ptr("Standard_Nope") }), 409, "SkuNotAvailable")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) { m.Zones = to.SliceOfPtrs("4") }), 400, "InvalidParameter")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) { m.Properties.PlatformFaultDomainCount = nil }), 400, "InvalidParameter", "platformFaultDomainCount")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) {
		m.Properties.VirtualMachineProfile.OSProfile.CustomData = to.Ptr("not base64!")
	}), 400, "InvalidParameter", "Base64")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) {
		m.Properties.VirtualMachineProfile.NetworkProfile.HealthProbe = nil
	}), 400, "InvalidParameter", "health probe")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) {
		m.Properties.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties.Subnet.ID = to.Ptr(e.subnet + "x")
	}), 400, "InvalidResourceReference")
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) {
		m.Identity.UserAssignedIdentities = map[string]*armcompute.UserAssignedIdentitiesValue{e.subnet: {}}
	}), 400, "FailedIdentityOperation")

	e.c.SetUsage(loc, "standardNCADSA100v4Family", 0, 24)
	err := try(func(m *armcompute.VirtualMachineScaleSet) { m.SKU.Capacity = to.Ptr[int64](2) })
	wantCode(t, err, 409, "OperationNotAllowed", "exceeding approved standardNCADSA100v4Family Cores quota",
		"Current Limit: 24, Current Usage: 0, Additional Required: 48")
	if err := try(func(*armcompute.VirtualMachineScaleSet) {}); err != nil {
		t.Fatal(err)
	}
	// Growing past the quota fails too: 24 used, 24 more needed.
	wantCode(t, try(func(m *armcompute.VirtualMachineScaleSet) { m.SKU.Capacity = to.Ptr[int64](2) }), 409, "OperationNotAllowed",
		"Current Usage: 24, Additional Required: 24")
}

func TestUnhealthyRollingUpgradeFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	model := e.cluster(t, "tf-acc-test-u", 2, "v1")
	sets := must(armcompute.NewVirtualMachineScaleSetsClient(e.sub, e.c.Credential(), e.opts))
	created := must(must(sets.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-u", model, nil)).PollUntilDone(ctx, poll))
	e.c.SetUnhealthy(*created.ID, 1)
	listVMs(t, e, *created.ID)
	unhealthy := 0
	for _, vm := range listVMs(t, e, *created.ID) {
		if *vm.Properties.InstanceView.VMHealth.Status.Code == "HealthState/unhealthy" {
			unhealthy++
		}
	}
	if unhealthy != 1 {
		t.Errorf("%d unhealthy", unhealthy)
	}
	model.Properties.VirtualMachineProfile.OSProfile.CustomData = to.Ptr(base64.StdEncoding.EncodeToString([]byte("v2")))
	must(must(sets.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-u", model, nil)).PollUntilDone(ctx, poll))
	upgrades := must(armcompute.NewVirtualMachineScaleSetRollingUpgradesClient(e.sub, e.c.Credential(), e.opts))
	var st armcompute.VirtualMachineScaleSetRollingUpgradesClientGetLatestResponse
	for range 20 {
		st = must(upgrades.GetLatest(ctx, rg, "tf-acc-test-u", nil))
		if *st.Properties.RunningStatus.Code != armcompute.RollingUpgradeStatusCodeRollingForward {
			break
		}
	}
	if *st.Properties.RunningStatus.Code != armcompute.RollingUpgradeStatusCodeFaulted || st.Properties.Error == nil {
		t.Fatalf("upgrade %s, error %v", *st.Properties.RunningStatus.Code, st.Properties.Error)
	}
	if n := e.c.MaxReplacedAtOnce(*created.ID); n != 1 {
		t.Errorf("replaced %d at once, want 1 (50%% of 2)", n)
	}
}

func TestIdentityAndRoleAssignment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	ids := must(armmsi.NewUserAssignedIdentitiesClient(e.sub, e.c.Credential(), e.opts))
	ident := must(ids.CreateOrUpdate(ctx, rg, "tf-acc-test-id", armmsi.Identity{Location: to.Ptr(loc)}, nil))
	if ident.Properties.PrincipalID == nil || ident.Properties.ClientID == nil || *ident.Properties.TenantID != e.c.TenantID() {
		t.Fatalf("identity %+v", ident.Properties)
	}
	roles := must(armauthorization.NewRoleAssignmentsClient(e.sub, e.c.Credential(), e.opts))
	scope := "/subscriptions/" + e.sub + "/resourceGroups/" + rg
	roleDef := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
	_, err := roles.Create(ctx, scope, newUUID(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: to.Ptr(newUUID()), RoleDefinitionID: to.Ptr(roleDef)}}, nil)
	wantCode(t, err, 400, "PrincipalNotFound")
	_, err = roles.Create(ctx, scope, newUUID(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: ident.Properties.PrincipalID}}, nil)
	wantCode(t, err, 400, "InvalidRoleAssignmentRequest")
	name := newUUID()
	must(roles.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		PrincipalID: ident.Properties.PrincipalID, RoleDefinitionID: to.Ptr(roleDef)}}, nil))
	got := must(roles.Get(ctx, scope, name, nil))
	if *got.Properties.PrincipalID != *ident.Properties.PrincipalID {
		t.Error("principal")
	}
	pager := roles.NewListForScopePager(scope, nil)
	n := 0
	for pager.More() {
		n += len(must(pager.NextPage(ctx)).Value)
	}
	if n != 1 {
		t.Errorf("listed %d", n)
	}
	must(roles.Delete(ctx, scope, name, nil))
	_, err = roles.Get(ctx, scope, name, nil)
	wantCode(t, err, 404, "RoleAssignmentNotFound")
}

func TestVaultAndSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{TrustDataPlane: to.Ptr(false)})
	ctx := context.Background()
	vaults := must(armkeyvault.NewVaultsClient(e.sub, e.c.Credential(), e.opts))
	params := armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(loc), Properties: &armkeyvault.VaultProperties{
		TenantID: to.Ptr(e.c.TenantID()), SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
		EnableRbacAuthorization: to.Ptr(true)}}
	v := must(must(vaults.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-kv", params, nil)).PollUntilDone(ctx, poll))
	if *v.Properties.VaultURI != "https://tf-acc-test-kv.vault.azure.net/" {
		t.Errorf("vault URI %s", *v.Properties.VaultURI)
	}
	secrets := must(armkeyvault.NewSecretsClient(e.sub, e.c.Credential(), e.opts))
	must(secrets.CreateOrUpdate(ctx, rg, "tf-acc-test-kv", "api-key", armkeyvault.SecretCreateOrUpdateParameters{
		Properties: &armkeyvault.SecretProperties{Value: to.Ptr("s3cret")}}, nil))
	got := must(secrets.Get(ctx, rg, "tf-acc-test-kv", "api-key", nil))
	if got.Properties.Value != nil {
		t.Error("management plane returned the value")
	}

	data := must(azsecrets.NewClient(*v.Properties.VaultURI, e.c.Credential(), &azsecrets.ClientOptions{ClientOptions: e.opts.ClientOptions}))
	s := must(data.GetSecret(ctx, "api-key", "", nil))
	if *s.Value != "s3cret" {
		t.Errorf("value %q", *s.Value)
	}
	must(data.SetSecret(ctx, "other", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil))

	// Public network access disabled: the data plane refuses an untrusted caller.
	must(vaults.Update(ctx, rg, "tf-acc-test-kv", armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{
		PublicNetworkAccess: to.Ptr("Disabled"), EnablePurgeProtection: to.Ptr(true)}}, nil))
	_, err := data.GetSecret(ctx, "api-key", "", nil)
	wantCode(t, err, 403, "ForbiddenByConnection")

	// Soft delete: the name stays taken until purged or recovered; purge protection forbids purge.
	must(vaults.Delete(ctx, rg, "tf-acc-test-kv", nil))
	_, err = vaults.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-kv", params, nil)
	wantCode(t, err, 409, "ConflictError", "soft-deleted")
	must(vaults.GetDeleted(ctx, "tf-acc-test-kv", loc, nil))
	_, err = vaults.BeginPurgeDeleted(ctx, "tf-acc-test-kv", loc, nil)
	wantCode(t, err, 409, "ConflictError")
	recoverParams := params
	recoverParams.Properties = clone(params.Properties)
	recoverParams.Properties.CreateMode = to.Ptr(armkeyvault.CreateModeRecover)
	recoverParams.Properties.EnablePurgeProtection = to.Ptr(true)
	must(must(vaults.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-kv", recoverParams, nil)).PollUntilDone(ctx, poll))
	must(secrets.Get(ctx, rg, "tf-acc-test-kv", "api-key", nil))
}

func TestPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	ctx := context.Background()
	vaults := must(armkeyvault.NewVaultsClient(e.sub, e.c.Credential(), e.opts))
	params := armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(loc), Properties: &armkeyvault.VaultProperties{
		TenantID: to.Ptr(e.c.TenantID()), SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}}}
	must(must(vaults.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-kv2", params, nil)).PollUntilDone(ctx, poll))
	must(vaults.Delete(ctx, rg, "tf-acc-test-kv2", nil))
	must(must(vaults.BeginPurgeDeleted(ctx, "tf-acc-test-kv2", loc, nil)).PollUntilDone(ctx, poll))
	_, err := vaults.GetDeleted(ctx, "tf-acc-test-kv2", loc, nil)
	wantCode(t, err, 404, "ResourceNotFound")
	must(must(vaults.BeginCreateOrUpdate(ctx, rg, "tf-acc-test-kv2", params, nil)).PollUntilDone(ctx, poll))
}

func TestThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	e.c.Inject(Fault{Method: "GET", PathContains: "/providers/Microsoft.Compute/skus", Status: 429, RetryAfter: "0", Times: 2})
	e.c.Inject(Fault{PathContains: "/providers/Microsoft.Compute/skus", Status: 503, Times: 1})
	skus := must(armcompute.NewResourceSKUsClient(e.sub, e.c.Credential(), e.opts))
	pager := skus.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: to.Ptr("location eq 'westeurope'")})
	var names []string
	pagesSeen := 0
	for pager.More() {
		page := must(pager.NextPage(context.Background()))
		pagesSeen++
		for _, s := range page.Value {
			names = append(names, *s.Name)
		}
	}
	if len(names) != 6 || pagesSeen != 2 {
		t.Errorf("got %d SKUs in %d pages: %v", len(names), pagesSeen, names)
	}
	calls := 0
	for _, r := range e.c.Requests() {
		if strings.Contains(r.Path, "/skus") {
			calls++
		}
	}
	if calls != 5 { // 3 faults + 2 pages
		t.Errorf("%d SKU requests, want 5", calls)
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	vnets := must(armnetwork.NewVirtualNetworksClient(e.sub, e.c.Credential(), e.opts))
	_, err := vnets.BeginDelete(context.Background(), rg, "tf-acc-test-vnet", nil)
	wantCode(t, err, 404, "NoRegisteredProviderFound", "BeginDelete")
	if _, ok := e.c.Get(e.subnet); !ok {
		t.Error("Get(subnet)")
	}
	if !e.c.DeleteOutOfBand(e.subnet[:strings.Index(e.subnet, "/subnets/")]) {
		t.Error("DeleteOutOfBand")
	}
}
