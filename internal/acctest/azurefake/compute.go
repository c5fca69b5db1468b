package azurefake

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7/fake"
)

// SKUPageSize is how many SKUs the resource SKU list serves per page, small so that paging is
// exercised.
const SKUPageSize = 4

type scaleSet struct {
	obj         *armcompute.VirtualMachineScaleSet
	vms         []*vmInstance
	model       int    // generation of the VM profile; bumped when custom data, image or size change
	signature   string // what the generation was computed from
	customData  string // decoded custom data of the latest model
	maxReplaced int
	upgrade     *rollingUpgrade
	upgraded    bool // a rolling upgrade ever ran
}

type vmInstance struct {
	name, id, vmID, customData, size, zone string
	model, age                             int
	created                                time.Time
}

type rollingUpgrade struct {
	status                armcompute.RollingUpgradeStatusCode
	start, last           time.Time
	pending               []string // names of VMs still on an old model
	batch                 []string // names of the VMs being replaced
	batchAge              int
	batchSize             int
	successful, failed    int
	err                   *armcompute.APIError
	policy                *armcompute.RollingUpgradePolicy
	unhealthyObservations int
}

// VM is what a test can see of one scale set VM.
type VM struct {
	Name       string
	Model      int    // the scale set model generation the VM runs (0 is the first)
	Latest     bool   // it runs the scale set's latest model
	CustomData string // decoded custom data it booted with
	Health     string // HealthState/initializing, HealthState/healthy or HealthState/unhealthy
}

func (s *scaleSet) nics() []*armcompute.VirtualMachineScaleSetNetworkConfiguration {
	p := s.obj.Properties
	if p == nil || p.VirtualMachineProfile == nil || p.VirtualMachineProfile.NetworkProfile == nil {
		return nil
	}
	return p.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations
}

func (s *scaleSet) poolRefs() []string {
	var out []string
	for _, nic := range s.nics() {
		if nic.Properties == nil {
			continue
		}
		for _, ip := range nic.Properties.IPConfigurations {
			if ip.Properties == nil {
				continue
			}
			for _, p := range ip.Properties.LoadBalancerBackendAddressPools {
				out = append(out, deref(p.ID))
			}
		}
	}
	if p := s.obj.Properties; p != nil && p.VirtualMachineProfile != nil && p.VirtualMachineProfile.NetworkProfile != nil && p.VirtualMachineProfile.NetworkProfile.HealthProbe != nil {
		out = append(out, deref(p.VirtualMachineProfile.NetworkProfile.HealthProbe.ID))
	}
	return out
}

func (s *scaleSet) capacity() int64 { return deref(s.obj.SKU.Capacity) }

// health of the VM in slot i; unhealthy slots are the first n (SetUnhealthy).
func (c *Cloud) health(s *scaleSet, i int) string {
	vm := s.vms[i]
	if vm.age < c.opts.PollsToHealthy {
		return "HealthState/initializing"
	}
	if i < c.unhealthy(deref(s.obj.ID)) {
		return "HealthState/unhealthy"
	}
	return "HealthState/healthy"
}

func (c *Cloud) unhealthy(id string) int {
	if c.unhealthyN == nil {
		return 0
	}
	return c.unhealthyN[key(id)]
}

// SetUnhealthy keeps the first n VMs of a scale set (existing or to come, replacements
// included) unhealthy: they report HealthState/unhealthy once they would have turned healthy.
func (c *Cloud) SetUnhealthy(vmssID string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unhealthyN == nil {
		c.unhealthyN = map[string]int{}
	}
	c.unhealthyN[key(vmssID)] = n
}

// MaxReplacedAtOnce is the largest number of a scale set's VMs that were ever being replaced at
// the same time.
func (c *Cloud) MaxReplacedAtOnce(vmssID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.scaleSets[key(vmssID)]; s != nil {
		return s.maxReplaced
	}
	return 0
}

// VMs returns a scale set's VMs as a test sees them, without counting as an observation.
func (c *Cloud) VMs(vmssID string) []VM {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scaleSets[key(vmssID)]
	if s == nil {
		return nil
	}
	out := make([]VM, len(s.vms))
	for i, vm := range s.vms {
		out[i] = VM{Name: vm.name, Model: vm.model, Latest: vm.model == s.model, CustomData: vm.customData, Health: c.health(s, i)}
	}
	return out
}

// SetSKUs replaces the resource SKU catalogue.
func (c *Cloud) SetSKUs(skus []*armcompute.ResourceSKU) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skus = skus
}

// SetUsage sets a compute usage (quota) of a location: name is "cores" (Total Regional vCPUs)
// or a VM family such as standardNCADSA100v4Family. current is the usage outside the fake's
// scale sets, whose vCPUs are added to it.
func (c *Cloud) SetUsage(location, name string, current, limit int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	loc := strings.ToLower(location)
	if c.usage[loc] == nil {
		c.usage[loc] = map[string]*usage{}
	}
	c.usage[loc][strings.ToLower(name)] = &usage{name: name, localized: localizedUsage(name), current: current, limit: limit}
}

func localizedUsage(name string) string {
	if strings.EqualFold(name, "cores") {
		return "Total Regional vCPUs"
	}
	n := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "standard"), "Standard"), "Family")
	return "Standard " + strings.ToUpper(n) + " Family vCPUs"
}

// usageOf returns a location's usage entry, with defaults; callers hold c.mu.
func (c *Cloud) usageOf(location, name string) *usage {
	if u := c.usage[strings.ToLower(location)][strings.ToLower(name)]; u != nil {
		return u
	}
	limit := int64(200)
	if strings.EqualFold(name, "cores") {
		limit = 1000
	}
	return &usage{name: name, localized: localizedUsage(name), limit: limit}
}

// scaleSetVCPUs sums the vCPUs of the fake's scale sets in a location, for a family or all
// ("cores"), leaving out one scale set; callers hold c.mu.
func (c *Cloud) scaleSetVCPUs(location, family, exclude string) int64 {
	var sum int64
	for k, s := range c.scaleSets {
		if k == key(exclude) || !strings.EqualFold(deref(s.obj.Location), location) {
			continue
		}
		sku := c.findSKU(deref(s.obj.SKU.Name), location)
		if sku == nil || (family != "cores" && !strings.EqualFold(deref(sku.Family), family)) {
			continue
		}
		sum += s.capacity() * skuVCPUs(sku)
	}
	return sum
}

func skuVCPUs(s *armcompute.ResourceSKU) int64 {
	for _, cp := range s.Capabilities {
		if deref(cp.Name) == "vCPUs" {
			n, _ := strconv.ParseInt(deref(cp.Value), 10, 64)
			return n
		}
	}
	return 0
}

// findSKU finds a VM size offered in a location; callers hold c.mu.
func (c *Cloud) findSKU(name, location string) *armcompute.ResourceSKU {
	for _, s := range c.skus {
		if deref(s.ResourceType) == "virtualMachines" && strings.EqualFold(deref(s.Name), name) &&
			slices.ContainsFunc(s.Locations, func(l *string) bool { return strings.EqualFold(deref(l), location) }) {
			return s
		}
	}
	return nil
}

func restricted(s *armcompute.ResourceSKU, location string) bool {
	for _, r := range s.Restrictions {
		if deref(r.Type) == armcompute.ResourceSKURestrictionsTypeLocation &&
			slices.ContainsFunc(r.Values, func(l *string) bool { return strings.EqualFold(deref(l), location) }) {
			return true
		}
	}
	return false
}

func skuZones(s *armcompute.ResourceSKU, location string) []string {
	for _, li := range s.LocationInfo {
		if strings.EqualFold(deref(li.Location), location) {
			return values(li.Zones)
		}
	}
	return nil
}

var vmssFilter = regexp.MustCompile(`(?i)'virtualMachineScaleSet/id'\s+eq\s+'([^']+)'`)

func (c *Cloud) computeServer() *computefake.ServerFactory {
	vmssID := func(rg, name string) string {
		return c.resourceID(rg, "Microsoft.Compute", "virtualMachineScaleSets/"+name)
	}
	return &computefake.ServerFactory{
		ResourceSKUsServer: computefake.ResourceSKUsServer{
			NewListPager: func(o *armcompute.ResourceSKUsClientListOptions) azfake.PagerResponder[armcompute.ResourceSKUsClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				loc := ""
				if o != nil && o.Filter != nil {
					if m := regexp.MustCompile(`(?i)location\s+eq\s+'([^']+)'`).FindStringSubmatch(*o.Filter); m != nil {
						loc = m[1]
					}
				}
				var out []*armcompute.ResourceSKU
				for _, s := range c.skus {
					if loc == "" || slices.ContainsFunc(s.Locations, func(l *string) bool { return strings.EqualFold(deref(l), loc) }) {
						out = append(out, clone(s))
					}
				}
				return pages(out, SKUPageSize, func(v []*armcompute.ResourceSKU) armcompute.ResourceSKUsClientListResponse {
					return armcompute.ResourceSKUsClientListResponse{ResourceSKUsResult: armcompute.ResourceSKUsResult{Value: v}}
				})
			},
		},
		UsageServer: computefake.UsageServer{
			NewListPager: func(location string, _ *armcompute.UsageClientListOptions) azfake.PagerResponder[armcompute.UsageClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				names := []string{"cores"}
				for _, s := range c.skus {
					if f := deref(s.Family); f != "" && !slices.Contains(names, f) && slices.ContainsFunc(s.Locations, func(l *string) bool { return strings.EqualFold(deref(l), location) }) {
						names = append(names, f)
					}
				}
				for _, u := range c.usage[strings.ToLower(location)] {
					if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, u.name) }) {
						names = append(names, u.name)
					}
				}
				var out []*armcompute.Usage
				for _, n := range names {
					u := c.usageOf(location, n)
					cur := u.current + c.scaleSetVCPUs(location, n, "")
					out = append(out, &armcompute.Usage{
						Name:         &armcompute.UsageName{Value: to.Ptr(u.name), LocalizedValue: to.Ptr(u.localized)},
						CurrentValue: to.Ptr(int32(cur)), Limit: to.Ptr(u.limit), Unit: to.Ptr("Count"),
					})
				}
				return pages(out, 0, func(v []*armcompute.Usage) armcompute.UsageClientListResponse {
					return armcompute.UsageClientListResponse{ListUsagesResult: armcompute.ListUsagesResult{Value: v}}
				})
			},
		},
		VirtualMachineScaleSetsServer: computefake.VirtualMachineScaleSetsServer{
			BeginCreateOrUpdate: func(ctx context.Context, rg, name string, p armcompute.VirtualMachineScaleSet, _ *armcompute.VirtualMachineScaleSetsClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				final, e := c.putScaleSet(ctx, rg, name, &p)
				if e != nil {
					return fail[azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientCreateOrUpdateResponse]](e)
				}
				return poller(c, final.status, armcompute.VirtualMachineScaleSetsClientCreateOrUpdateResponse{VirtualMachineScaleSet: *final.obj}), azfake.ErrorResponder{}
			},
			BeginUpdate: func(ctx context.Context, rg, name string, p armcompute.VirtualMachineScaleSetUpdate, _ *armcompute.VirtualMachineScaleSetsClientBeginUpdateOptions) (azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientUpdateResponse], azfake.ErrorResponder) {
				type R = azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientUpdateResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				s := c.scaleSets[key(vmssID(rg, name))]
				if s == nil {
					return fail[R](notFound("Microsoft.Compute/virtualMachineScaleSets", vmssID(rg, name)))
				}
				merged, err := mergePatch(s.obj, p)
				if err != nil {
					return fail[R](errorf(http.StatusBadRequest, "InvalidRequestContent", "%v", err))
				}
				final, e := c.putScaleSet(ctx, rg, name, merged)
				if e != nil {
					return fail[R](e)
				}
				return poller(c, http.StatusOK, armcompute.VirtualMachineScaleSetsClientUpdateResponse{VirtualMachineScaleSet: *final.obj}), azfake.ErrorResponder{}
			},
			Get: func(_ context.Context, rg, name string, _ *armcompute.VirtualMachineScaleSetsClientGetOptions) (azfake.Responder[armcompute.VirtualMachineScaleSetsClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				s := c.scaleSets[key(vmssID(rg, name))]
				if s == nil {
					return fail[azfake.Responder[armcompute.VirtualMachineScaleSetsClientGetResponse]](notFound("Microsoft.Compute/virtualMachineScaleSets", vmssID(rg, name)))
				}
				return ok(armcompute.VirtualMachineScaleSetsClientGetResponse{VirtualMachineScaleSet: *public(s.obj)})
			},
			BeginDelete: func(ctx context.Context, rg, name string, _ *armcompute.VirtualMachineScaleSetsClientBeginDeleteOptions) (azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientDeleteResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				id := vmssID(rg, name)
				s := c.scaleSets[key(id)]
				if s == nil {
					var p azfake.PollerResponder[armcompute.VirtualMachineScaleSetsClientDeleteResponse]
					p.SetTerminalResponse(http.StatusNoContent, armcompute.VirtualMachineScaleSetsClientDeleteResponse{}, nil)
					return p, azfake.ErrorResponder{}
				}
				s.obj.Properties.ProvisioningState = to.Ptr("Deleting")
				c.onFinish(ctx, func() {
					if c.scaleSets[key(id)] == s {
						delete(c.scaleSets, key(id))
					}
				})
				return poller(c, http.StatusOK, armcompute.VirtualMachineScaleSetsClientDeleteResponse{}), azfake.ErrorResponder{}
			},
			NewListPager: func(rg string, _ *armcompute.VirtualMachineScaleSetsClientListOptions) azfake.PagerResponder[armcompute.VirtualMachineScaleSetsClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				prefix := key(c.rgID(rg)) + "/"
				var out []*armcompute.VirtualMachineScaleSet
				for k, s := range c.scaleSets {
					if strings.HasPrefix(k, prefix) {
						out = append(out, public(s.obj))
					}
				}
				slices.SortFunc(out, func(a, b *armcompute.VirtualMachineScaleSet) int { return strings.Compare(*a.ID, *b.ID) })
				return pages(out, 0, func(v []*armcompute.VirtualMachineScaleSet) armcompute.VirtualMachineScaleSetsClientListResponse {
					return armcompute.VirtualMachineScaleSetsClientListResponse{VirtualMachineScaleSetListResult: armcompute.VirtualMachineScaleSetListResult{Value: v}}
				})
			},
		},
		VirtualMachinesServer: computefake.VirtualMachinesServer{
			NewListPager: func(rg string, o *armcompute.VirtualMachinesClientListOptions) azfake.PagerResponder[armcompute.VirtualMachinesClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				want, expand := "", false
				if o != nil {
					if o.Filter != nil {
						if m := vmssFilter.FindStringSubmatch(*o.Filter); m != nil {
							want = m[1]
						}
					}
					expand = o.Expand != nil && strings.EqualFold(string(*o.Expand), "instanceView")
				}
				prefix := key(c.rgID(rg)) + "/"
				var sets []*scaleSet
				for k, s := range c.scaleSets {
					if strings.HasPrefix(k, prefix) && (want == "" || k == key(want)) {
						sets = append(sets, s)
					}
				}
				slices.SortFunc(sets, func(a, b *scaleSet) int { return strings.Compare(*a.obj.ID, *b.obj.ID) })
				var out []*armcompute.VirtualMachine
				for _, s := range sets {
					for i := range s.vms {
						out = append(out, c.vmObject(s, i, expand))
					}
					c.tick(s)
				}
				return pages(out, SKUPageSize, func(v []*armcompute.VirtualMachine) armcompute.VirtualMachinesClientListResponse {
					return armcompute.VirtualMachinesClientListResponse{VirtualMachineListResult: armcompute.VirtualMachineListResult{Value: v}}
				})
			},
		},
		VirtualMachineScaleSetRollingUpgradesServer: computefake.VirtualMachineScaleSetRollingUpgradesServer{
			GetLatest: func(_ context.Context, rg, name string, _ *armcompute.VirtualMachineScaleSetRollingUpgradesClientGetLatestOptions) (azfake.Responder[armcompute.VirtualMachineScaleSetRollingUpgradesClientGetLatestResponse], azfake.ErrorResponder) {
				type R = azfake.Responder[armcompute.VirtualMachineScaleSetRollingUpgradesClientGetLatestResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				s := c.scaleSets[key(vmssID(rg, name))]
				if s == nil {
					return fail[R](notFound("Microsoft.Compute/virtualMachineScaleSets", vmssID(rg, name)))
				}
				if s.upgrade == nil {
					return fail[R](errorf(http.StatusNotFound, "NotFound", "The entity was not found in this Azure location: no rolling upgrade has run on %s.", name))
				}
				u := s.upgrade
				info := armcompute.RollingUpgradeStatusInfo{
					Location: s.obj.Location,
					Properties: &armcompute.RollingUpgradeStatusInfoProperties{
						Policy: u.policy,
						RunningStatus: &armcompute.RollingUpgradeRunningStatus{
							Code: to.Ptr(u.status), StartTime: to.Ptr(u.start),
							LastAction: to.Ptr(armcompute.RollingUpgradeActionTypeStart), LastActionTime: to.Ptr(u.last),
						},
						Progress: &armcompute.RollingUpgradeProgressInfo{
							SuccessfulInstanceCount: to.Ptr(int32(u.successful)), FailedInstanceCount: to.Ptr(int32(u.failed)),
							InProgressInstanceCount: to.Ptr(int32(len(u.batch))), PendingInstanceCount: to.Ptr(int32(len(u.pending))),
						},
						Error: u.err,
					},
				}
				c.tick(s)
				return ok(armcompute.VirtualMachineScaleSetRollingUpgradesClientGetLatestResponse{RollingUpgradeStatusInfo: info})
			},
		},
	}
}

// public is a scale set as Azure returns it: without custom data (write-only).
func public(v *armcompute.VirtualMachineScaleSet) *armcompute.VirtualMachineScaleSet {
	out := clone(v)
	if p := out.Properties; p != nil && p.VirtualMachineProfile != nil && p.VirtualMachineProfile.OSProfile != nil {
		p.VirtualMachineProfile.OSProfile.CustomData = nil
		p.VirtualMachineProfile.OSProfile.AdminPassword = nil
	}
	return out
}

func (c *Cloud) vmObject(s *scaleSet, i int, instanceView bool) *armcompute.VirtualMachine {
	vm := s.vms[i]
	p := s.obj.Properties.VirtualMachineProfile
	out := &armcompute.VirtualMachine{
		ID: to.Ptr(vm.id), Name: to.Ptr(vm.name), Type: to.Ptr("Microsoft.Compute/virtualMachines"), Location: s.obj.Location,
		Properties: &armcompute.VirtualMachineProperties{
			VirtualMachineScaleSet: &armcompute.SubResource{ID: s.obj.ID},
			ProvisioningState:      to.Ptr("Succeeded"),
			HardwareProfile:        &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(vm.size))},
			OSProfile:              &armcompute.OSProfile{ComputerName: to.Ptr(vm.name)},
			VMID:                   to.Ptr(vm.vmID),
			TimeCreated:            to.Ptr(vm.created),
		},
	}
	if vm.zone != "" {
		out.Zones = []*string{to.Ptr(vm.zone)}
	}
	if p != nil && p.StorageProfile != nil {
		out.Properties.StorageProfile = &armcompute.StorageProfile{ImageReference: clone(p.StorageProfile.ImageReference)}
	}
	if instanceView {
		h := c.health(s, i)
		out.Properties.InstanceView = &armcompute.VirtualMachineInstanceView{
			ComputerName: to.Ptr(vm.name),
			Statuses: []*armcompute.InstanceViewStatus{
				{Code: to.Ptr("ProvisioningState/succeeded"), Level: to.Ptr(armcompute.StatusLevelTypesInfo), DisplayStatus: to.Ptr("Provisioning succeeded")},
				{Code: to.Ptr("PowerState/running"), Level: to.Ptr(armcompute.StatusLevelTypesInfo), DisplayStatus: to.Ptr("VM running")},
			},
			VMHealth: &armcompute.VirtualMachineHealthStatus{Status: &armcompute.InstanceViewStatus{
				Code: to.Ptr(h), Level: to.Ptr(armcompute.StatusLevelTypesInfo), DisplayStatus: to.Ptr("The VM is " + strings.TrimPrefix(h, "HealthState/")),
			}},
		}
	}
	return out
}

// tick is one observation of a scale set (a list of its VMs, a read of its latest rolling
// upgrade): its VMs age and a rolling upgrade moves on; callers hold c.mu.
func (c *Cloud) tick(s *scaleSet) {
	for _, vm := range s.vms {
		vm.age++
	}
	u := s.upgrade
	if u == nil || u.status != armcompute.RollingUpgradeStatusCodeRollingForward {
		return
	}
	now := time.Now().UTC()
	if len(u.batch) > 0 {
		healthy, unhealthy := 0, 0
		for i, vm := range s.vms {
			if slices.Contains(u.batch, vm.name) {
				switch c.health(s, i) {
				case "HealthState/healthy":
					healthy++
				case "HealthState/unhealthy":
					unhealthy++
				}
			}
		}
		switch {
		case healthy == len(u.batch):
			u.successful += len(u.batch)
			u.batch = nil
		case unhealthy > 0:
			u.unhealthyObservations++
			if u.unhealthyObservations >= 2 {
				u.status, u.last = armcompute.RollingUpgradeStatusCodeFaulted, now
				u.failed, u.successful = unhealthy, u.successful+healthy
				u.err = &armcompute.APIError{
					Code:    to.Ptr("MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"),
					Message: to.Ptr(fmt.Sprintf("The rolling upgrade of %s was stopped because %d of the %d upgraded instances are unhealthy after the upgrade, more than the policy's maxUnhealthyUpgradedInstancePercent allows.", deref(s.obj.Name), unhealthy, len(u.batch))),
				}
				u.batch = nil
			}
			return
		default:
			return
		}
	}
	if len(u.pending) == 0 {
		u.status, u.last = armcompute.RollingUpgradeStatusCodeCompleted, now
		return
	}
	n := min(u.batchSize, len(u.pending))
	for _, name := range u.pending[:n] {
		for i, vm := range s.vms {
			if vm.name == name {
				s.vms[i] = c.newVM(s, vm.zone)
				u.batch = append(u.batch, s.vms[i].name)
			}
		}
	}
	u.pending = u.pending[n:]
	u.batchAge, u.unhealthyObservations, u.last = 0, 0, now
	s.maxReplaced = max(s.maxReplaced, len(u.batch))
}

// newVM makes a VM running the scale set's latest model; callers hold c.mu.
func (c *Cloud) newVM(s *scaleSet, zone string) *vmInstance {
	name := deref(s.obj.Name) + "_" + hex.EncodeToString(randomBytes(4))
	return &vmInstance{
		name: name, id: c.resourceID(rgOf(deref(s.obj.ID)), "Microsoft.Compute", "virtualMachines/"+name),
		vmID: newUUID(), customData: s.customData, size: deref(s.obj.SKU.Name), zone: zone,
		model: s.model, created: time.Now().UTC(),
	}
}

type putResult struct {
	obj    *armcompute.VirtualMachineScaleSet
	status int
}

// putScaleSet validates and stores a scale set's full model (a PUT, or a PATCH merged into the
// current model); callers hold c.mu.
func (c *Cloud) putScaleSet(ctx context.Context, rg, name string, p *armcompute.VirtualMachineScaleSet) (*putResult, *apiError) {
	if e := c.checkCreate(rg, p.Location); e != nil {
		return nil, e
	}
	id := c.resourceID(rg, "Microsoft.Compute", "virtualMachineScaleSets/"+name)
	loc := *p.Location
	if e := c.validateScaleSet(id, loc, p); e != nil {
		return nil, e
	}
	sku := c.findSKU(*p.SKU.Name, loc)
	newCap := deref(p.SKU.Capacity)
	old := c.scaleSets[key(id)]
	oldVCPUs := int64(0)
	if old != nil {
		if oldSKU := c.findSKU(deref(old.obj.SKU.Name), loc); oldSKU != nil {
			oldVCPUs = old.capacity() * skuVCPUs(oldSKU)
		}
	}
	need := newCap * skuVCPUs(sku)
	for _, q := range []struct{ name, label string }{{deref(sku.Family), deref(sku.Family)}, {"cores", "Total Regional"}} {
		if q.name == "" {
			continue
		}
		u := c.usageOf(loc, q.name)
		current := u.current + c.scaleSetVCPUs(loc, q.name, "")
		sameFamily := old != nil && (q.name == "cores" || strings.EqualFold(deref(c.findSKU(deref(old.obj.SKU.Name), loc).Family), q.name))
		additional := need
		if sameFamily {
			additional = need - oldVCPUs
		}
		if additional > 0 && current+additional > u.limit {
			return nil, errorf(http.StatusConflict, "OperationNotAllowed",
				"Operation could not be completed as it results in exceeding approved %s Cores quota. Additional details - Deployment Model: Resource Manager, Location: %s, Current Limit: %d, Current Usage: %d, Additional Required: %d, (Minimum) New Limit Required: %d. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/%%7B%%22SubscriptionId%%22:%%22%s%%22,%%22Command%%22:%%22openQuotaApprovalBlade%%22%%7D by specifying parameters listed in the 'Details' section for deployment to succeed. Please read more about quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/per-vm-quota-requests",
				q.label, loc, u.limit, current, additional, current+additional, c.opts.SubscriptionID)
		}
	}

	obj := clone(p)
	obj.ID, obj.Name, obj.Type, obj.Etag = to.Ptr(id), to.Ptr(name), to.Ptr("Microsoft.Compute/virtualMachineScaleSets"), to.Ptr(c.etag())
	customData := ""
	if op := obj.Properties.VirtualMachineProfile.OSProfile; op.CustomData != nil {
		b, _ := base64.StdEncoding.DecodeString(*op.CustomData)
		customData = string(b)
	}
	image, _ := json.Marshal(obj.Properties.VirtualMachineProfile.StorageProfile.ImageReference)
	signature := strings.Join([]string{customData, string(image), strings.ToLower(*obj.SKU.Name)}, "\x00")

	s := old
	status := http.StatusOK
	if s == nil {
		status = http.StatusCreated
		s = &scaleSet{signature: signature, customData: customData}
		obj.Properties.UniqueID, obj.Properties.TimeCreated = to.Ptr(newUUID()), to.Ptr(time.Now().UTC())
		obj.Properties.ProvisioningState = to.Ptr("Creating")
	} else {
		obj.Properties.UniqueID, obj.Properties.TimeCreated = old.obj.Properties.UniqueID, old.obj.Properties.TimeCreated
		obj.Properties.ProvisioningState = to.Ptr("Updating")
	}
	changed := s.signature != signature
	if changed {
		s.model++
		s.signature, s.customData = signature, customData
	}
	s.obj = obj
	c.scaleSets[key(id)] = s

	// Scale: new VMs run the latest model; scale-in removes the newest.
	zones := values(obj.Zones)
	for int64(len(s.vms)) < newCap {
		zone := ""
		if len(zones) > 0 {
			zone = zones[len(s.vms)%len(zones)]
		}
		s.vms = append(s.vms, c.newVM(s, zone))
	}
	if int64(len(s.vms)) > newCap {
		s.vms = s.vms[:newCap]
	}

	mode := armcompute.UpgradeModeManual
	if up := obj.Properties.UpgradePolicy; up != nil && up.Mode != nil {
		mode = *up.Mode
	}
	final := public(obj)
	final.Properties.ProvisioningState = to.Ptr("Succeeded")
	c.onFinish(ctx, func() {
		if c.scaleSets[key(id)] != s || deref(s.obj.Etag) != deref(obj.Etag) {
			return
		}
		s.obj.Properties.ProvisioningState = to.Ptr("Succeeded")
		var stale []string
		for _, vm := range s.vms {
			if vm.model != s.model {
				stale = append(stale, vm.name)
			}
		}
		if !changed || len(stale) == 0 {
			return
		}
		switch mode {
		case armcompute.UpgradeModeRolling:
			c.startRollingUpgrade(s, stale)
		case armcompute.UpgradeModeAutomatic:
			for i, vm := range s.vms {
				if vm.model != s.model {
					s.vms[i] = c.newVM(s, vm.zone)
				}
			}
			s.maxReplaced = max(s.maxReplaced, len(stale))
		}
	})
	return &putResult{obj: final, status: status}, nil
}

// startRollingUpgrade replaces stale VMs in batches of MaxBatchInstancePercent of the capacity,
// one batch per observation once the previous batch is healthy; callers hold c.mu.
func (c *Cloud) startRollingUpgrade(s *scaleSet, stale []string) {
	policy := &armcompute.RollingUpgradePolicy{}
	if up := s.obj.Properties.UpgradePolicy; up != nil && up.RollingUpgradePolicy != nil {
		policy = clone(up.RollingUpgradePolicy)
	}
	if policy.MaxBatchInstancePercent == nil {
		policy.MaxBatchInstancePercent = to.Ptr[int32](20)
	}
	batch := max(int(s.capacity())*int(*policy.MaxBatchInstancePercent)/100, 1)
	now := time.Now().UTC()
	s.upgrade = &rollingUpgrade{
		status: armcompute.RollingUpgradeStatusCodeRollingForward, start: now, last: now,
		pending: stale, batchSize: batch, policy: policy,
	}
	s.upgraded = true
}

// validateScaleSet checks a scale set model as Azure does; callers hold c.mu.
func (c *Cloud) validateScaleSet(id, loc string, p *armcompute.VirtualMachineScaleSet) *apiError {
	invalid := func(target, format string, a ...any) *apiError {
		e := errorf(http.StatusBadRequest, "InvalidParameter", format, a...)
		e.message += " (target: " + target + ")"
		return e
	}
	if p.SKU == nil || deref(p.SKU.Name) == "" {
		return invalid("sku.name", "Required parameter 'sku.name' is missing (null).")
	}
	if p.SKU.Capacity == nil || *p.SKU.Capacity < 0 {
		return invalid("sku.capacity", "Required parameter 'sku.capacity' is missing or negative.")
	}
	sku := c.findSKU(*p.SKU.Name, loc)
	if sku == nil || restricted(sku, loc) {
		return errorf(http.StatusConflict, "SkuNotAvailable",
			"The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: %s' is currently not available in location '%s'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.", *p.SKU.Name, loc)
	}
	offered := skuZones(sku, loc)
	for _, z := range p.Zones {
		if !slices.Contains(offered, deref(z)) {
			return invalid("zones", "The requested zone '%s' is not supported for VM size %s in location '%s'. Supported zones: %s.", deref(z), *p.SKU.Name, loc, strings.Join(offered, ", "))
		}
	}
	props := p.Properties
	if props == nil || deref(props.OrchestrationMode) != armcompute.OrchestrationModeFlexible {
		return invalid("orchestrationMode", "azurefake serves Flexible scale sets only: set properties.orchestrationMode to Flexible.")
	}
	if props.PlatformFaultDomainCount == nil {
		return invalid("platformFaultDomainCount", "Required parameter 'platformFaultDomainCount' is missing (null).")
	}
	vp := props.VirtualMachineProfile
	if vp == nil {
		return invalid("virtualMachineProfile", "Required parameter 'virtualMachineProfile' is missing (null).")
	}
	if vp.StorageProfile == nil || vp.StorageProfile.ImageReference == nil {
		return invalid("imageReference", "Required parameter 'imageReference' is missing (null).")
	}
	if vp.OSProfile == nil || deref(vp.OSProfile.AdminUsername) == "" {
		return invalid("adminUsername", "Required parameter 'osProfile.adminUsername' is missing (null).")
	}
	if cd := vp.OSProfile.CustomData; cd != nil {
		b, err := base64.StdEncoding.DecodeString(*cd)
		if err != nil || len(b) > 65536 {
			return invalid("customData", "Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.")
		}
	}
	np := vp.NetworkProfile
	if np == nil || len(np.NetworkInterfaceConfigurations) == 0 {
		return invalid("networkProfile", "Required parameter 'networkProfile.networkInterfaceConfigurations' is missing (null).")
	}
	if np.NetworkAPIVersion == nil {
		return invalid("networkApiVersion", "Required parameter 'networkProfile.networkApiVersion' is missing (null): Flexible scale sets with network interface configurations need it.")
	}
	missing := func(ref string) *apiError {
		return errorf(http.StatusBadRequest, "InvalidResourceReference",
			"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", ref, id)
	}
	for _, nic := range np.NetworkInterfaceConfigurations {
		if nic.Properties == nil || len(nic.Properties.IPConfigurations) == 0 {
			return invalid("ipConfigurations", "Network interface configuration %s needs at least one IP configuration.", deref(nic.Name))
		}
		if nsg := nic.Properties.NetworkSecurityGroup; nsg != nil && c.nsgs[key(deref(nsg.ID))] == nil {
			return missing(deref(nsg.ID))
		}
		for _, ip := range nic.Properties.IPConfigurations {
			if ip.Properties == nil || ip.Properties.Subnet == nil || c.findSubnet(deref(ip.Properties.Subnet.ID)) == nil {
				ref := "(none)"
				if ip.Properties != nil && ip.Properties.Subnet != nil {
					ref = deref(ip.Properties.Subnet.ID)
				}
				return missing(ref)
			}
			for _, pool := range ip.Properties.LoadBalancerBackendAddressPools {
				if !c.lbChildExists(deref(pool.ID), "backendAddressPools") {
					return missing(deref(pool.ID))
				}
			}
		}
	}
	if p.Identity != nil {
		for ident := range p.Identity.UserAssignedIdentities {
			if c.identities[key(ident)] == nil {
				return errorf(http.StatusBadRequest, "FailedIdentityOperation", "Identity (%s) is not found. Please make sure that the identity exists and is in the same subscription as the scale set.", ident)
			}
		}
	}
	if up := props.UpgradePolicy; up != nil && deref(up.Mode) == armcompute.UpgradeModeRolling {
		probe := np.HealthProbe != nil && deref(np.HealthProbe.ID) != ""
		if probe && !c.lbChildExists(deref(np.HealthProbe.ID), "probes") {
			return missing(deref(np.HealthProbe.ID))
		}
		if !probe && !hasHealthExtension(vp) {
			return invalid("upgradePolicy", "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health probe or health extension was not provided.")
		}
		if rp := up.RollingUpgradePolicy; rp != nil && rp.MaxBatchInstancePercent != nil && (*rp.MaxBatchInstancePercent < 5 || *rp.MaxBatchInstancePercent > 100) {
			return invalid("maxBatchInstancePercent", "maxBatchInstancePercent must be between 5 and 100, got %d.", *rp.MaxBatchInstancePercent)
		}
	}
	return nil
}

func hasHealthExtension(vp *armcompute.VirtualMachineScaleSetVMProfile) bool {
	if vp.ExtensionProfile == nil {
		return false
	}
	for _, e := range vp.ExtensionProfile.Extensions {
		if e.Properties != nil && strings.HasPrefix(deref(e.Properties.Type), "ApplicationHealth") {
			return true
		}
	}
	return false
}

// lbChildExists reports whether a load balancer's child (backendAddressPools, probes) exists;
// callers hold c.mu.
func (c *Cloud) lbChildExists(id, kind string) bool {
	k := key(id)
	i := strings.Index(k, "/"+strings.ToLower(kind)+"/")
	if i < 0 {
		return false
	}
	lb := c.lbs[k[:i]]
	if lb == nil || lb.Properties == nil {
		return false
	}
	var ids []*string
	switch kind {
	case "backendAddressPools":
		for _, b := range lb.Properties.BackendAddressPools {
			ids = append(ids, b.ID)
		}
	case "probes":
		for _, p := range lb.Properties.Probes {
			ids = append(ids, p.ID)
		}
	}
	return slices.ContainsFunc(ids, func(s *string) bool { return key(deref(s)) == k })
}

// mergePatch applies patch (a PATCH body) to base as a JSON merge patch (RFC 7396) and returns
// the result as a new T.
func mergePatch[T any](base *T, patch any) (*T, error) {
	var b, p any
	bj, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	pj, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(bj, &b); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(pj, &p); err != nil {
		return nil, err
	}
	out, err := json.Marshal(merge(b, p))
	if err != nil {
		return nil, err
	}
	res := new(T)
	return res, json.Unmarshal(out, res)
}

func merge(base, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	bm, ok := base.(map[string]any)
	if !ok {
		bm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(bm, k)
			continue
		}
		bm[k] = merge(bm[k], v)
	}
	return bm
}

func values(ps []*string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, deref(p))
	}
	return out
}
