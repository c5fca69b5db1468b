package azure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// Preflight is what the plan learns about a cluster's VM size in its location, without writes:
// the GPU a node carries, whether the size supports encryption at host, and the vCPU quotas
// (compute usages) the cluster's maximum nodes need.
type Preflight struct {
	GPU              backend.GPUType
	Family           string // the size's quota family, e.g. "standardNCADSA100v4Family"
	EncryptionAtHost bool   // the size supports it
	Quotas           []Quota
	Warnings         []string
}

// Quota is one compute usage (a vCPU quota of the location) against what the cluster needs.
type Quota struct {
	Name        string // "cores" (total regional vCPUs) or the size's family
	Description string // Azure's name for it, e.g. "Total Regional vCPUs"
	Limit, Used int64
	NeededVCPUs int64
}

// CheckCluster runs the preflight: the size is a GPU size offered in the location and zones and
// not restricted for the subscription (resource SKUs), and the regional and family vCPU quotas
// cover MaxNodes nodes (compute usages). A quota that cannot be read is a warning.
func (b *Backend) CheckCluster(ctx context.Context, s ClusterSpec) (*Preflight, error) {
	if err := checkClusterSpec(s); err != nil {
		return nil, err
	}
	c, sub, err := b.clientsFor(s.SubscriptionID)
	if err != nil {
		return nil, err
	}
	s = s.withDefaults(sub)
	sku, err := findSKU(ctx, c, s.Location, s.VMSize)
	if err != nil {
		return nil, err
	}
	pf, err := checkSKU(sku, s)
	if err != nil {
		return nil, err
	}
	pf.Quotas, pf.Warnings = checkQuotas(ctx, c, s, pf)
	var errs []error
	for _, q := range pf.Quotas {
		if q.Used+q.NeededVCPUs > q.Limit {
			errs = append(errs, &backend.InputError{Attribute: "max_nodes", Detail: fmt.Sprintf(
				"%d nodes of %s need %d vCPUs of the %q quota (%s) in %s, but its limit is %d with %d in use (%d free): "+
					"lower max_nodes, or request more in the Azure portal (Quotas > Compute, %s)",
				s.MaxNodes, s.VMSize, q.NeededVCPUs, q.Name, q.Description, s.Location, q.Limit, q.Used, max(0, q.Limit-q.Used), q.Description)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pf, nil
}

// findSKU returns the resource SKU of size in location; an InputError when it is not offered.
func findSKU(ctx context.Context, c *clients, location, size string) (*armcompute.ResourceSKU, error) {
	filter := fmt.Sprintf("location eq '%s'", location)
	pager := c.skus.NewListPager(&armcompute.ResourceSKUsClientListOptions{Filter: &filter})
	var gpuSizes []string
	var found *armcompute.ResourceSKU
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing Azure resource SKUs in %s: %w", location, err)
		}
		for _, sku := range page.Value {
			if sku == nil || sku.Name == nil || sku.ResourceType == nil || *sku.ResourceType != "virtualMachines" || !offeredIn(sku, location) {
				continue
			}
			if strings.EqualFold(*sku.Name, size) {
				found = sku
			}
			if t, ok := gpuType(sku, location); ok && t.GPUFraction == 1 {
				gpuSizes = append(gpuSizes, t.Name)
			}
		}
	}
	if found == nil {
		slices.Sort(gpuSizes)
		gpuSizes = slices.Compact(gpuSizes)
		return nil, &backend.InputError{Attribute: "vm_size", Detail: fmt.Sprintf(
			"%s is not offered in %s. GPU sizes offered there: %s (inferstack_gpu_types lists them with their GPUs)",
			size, location, listOrNone(gpuSizes))}
	}
	return found, nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	if len(l) > 12 {
		return strings.Join(l[:12], ", ") + fmt.Sprintf(" and %d more", len(l)-12)
	}
	return strings.Join(l, ", ")
}

// checkSKU checks the size against the spec: a whole-GPU size, not restricted for the
// subscription in the location or the zones, offered in every zone.
func checkSKU(sku *armcompute.ResourceSKU, s ClusterSpec) (*Preflight, error) {
	name := *sku.Name
	for _, r := range sku.Restrictions {
		if r == nil || r.Type == nil {
			continue
		}
		reason := ""
		if r.ReasonCode != nil {
			reason = string(*r.ReasonCode)
		}
		switch *r.Type {
		case armcompute.ResourceSKURestrictionsTypeLocation:
			for _, v := range r.Values {
				if v != nil && strings.EqualFold(*v, s.Location) {
					return nil, &backend.InputError{Attribute: "vm_size", Detail: fmt.Sprintf(
						"%s is restricted for this subscription in %s (%s): request access to it (Azure portal: Help + support, "+
							"a quota or region access request), or pick another size or location", name, s.Location, reason)}
				}
			}
		case armcompute.ResourceSKURestrictionsTypeZone:
			if r.RestrictionInfo == nil {
				continue
			}
			for _, z := range r.RestrictionInfo.Zones {
				if z != nil && slices.Contains(s.Zones, *z) {
					return nil, &backend.InputError{Attribute: "zones", Detail: fmt.Sprintf(
						"%s is restricted for this subscription in zone %s of %s (%s): leave that zone out", name, *z, s.Location, reason)}
				}
			}
		}
	}
	t, ok := gpuType(sku, s.Location)
	if !ok {
		return nil, &backend.InputError{Attribute: "vm_size", Detail: fmt.Sprintf(
			"%s has no GPU: pick a GPU size (NC, ND or NV series; inferstack_gpu_types lists those offered in %s)", name, s.Location)}
	}
	if t.GPUFraction < 1 {
		return nil, &backend.InputError{Attribute: "vm_size", Detail: fmt.Sprintf(
			"%s has a fraction (%.2f) of a GPU, which vLLM cannot use: pick a size with whole GPUs", name, t.GPUFraction)}
	}
	var zones []string
	for _, li := range sku.LocationInfo {
		if li != nil && li.Location != nil && strings.EqualFold(*li.Location, s.Location) {
			for _, z := range li.Zones {
				if z != nil {
					zones = append(zones, *z)
				}
			}
		}
	}
	slices.Sort(zones)
	for i, z := range s.Zones {
		if !slices.Contains(zones, z) {
			return nil, &backend.InputError{Attribute: fmt.Sprintf("zones[%d]", i), Detail: fmt.Sprintf(
				"%s is not offered in zone %s of %s; it is in zones: %s", name, z, s.Location, listOrNone(zones))}
		}
	}
	pf := &Preflight{GPU: t, EncryptionAtHost: capability(sku, "EncryptionAtHostSupported") == "True"}
	if sku.Family != nil {
		pf.Family = *sku.Family
	}
	return pf, nil
}

func capability(sku *armcompute.ResourceSKU, name string) string {
	for _, c := range sku.Capabilities {
		if c != nil && c.Name != nil && c.Value != nil && *c.Name == name {
			return *c.Value
		}
	}
	return ""
}

// checkQuotas reads the location's compute usages: the regional vCPUs ("cores") and the size's
// family. Usages that cannot be read are warnings.
func checkQuotas(ctx context.Context, c *clients, s ClusterSpec, pf *Preflight) ([]Quota, []string) {
	need := s.MaxNodes * pf.GPU.VCPUs
	want := map[string]bool{"cores": true}
	if pf.Family != "" {
		want[strings.ToLower(pf.Family)] = true
	}
	pager := c.usages.NewListPager(s.Location, nil)
	var out []Quota
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, []string{fmt.Sprintf("the vCPU quotas of %s could not be read (%v), so they were not checked against "+
				"%d nodes of %s (%d vCPUs); the apply fails later if they are too small", s.Location, shortError(err), s.MaxNodes, s.VMSize, need)}
		}
		for _, u := range page.Value {
			if u == nil || u.Name == nil || u.Name.Value == nil || !want[strings.ToLower(*u.Name.Value)] {
				continue
			}
			q := Quota{Name: *u.Name.Value, NeededVCPUs: need}
			if u.Name.LocalizedValue != nil {
				q.Description = *u.Name.LocalizedValue
			}
			if u.Limit != nil {
				q.Limit = *u.Limit
			}
			if u.CurrentValue != nil {
				q.Used = int64(*u.CurrentValue)
			}
			out = append(out, q)
			delete(want, strings.ToLower(q.Name))
		}
	}
	var warnings []string
	for name := range want {
		warnings = append(warnings, fmt.Sprintf("%s reports no %q usage, so that quota was not checked", s.Location, name))
	}
	slices.Sort(warnings)
	slices.SortFunc(out, func(a, b Quota) int { return strings.Compare(a.Name, b.Name) })
	return out, warnings
}

// shortError is the first line of an Azure error (its response dump follows).
func shortError(err error) string {
	msg := err.Error()
	if code := errorCode(err); code != "" {
		return code
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return msg
}
