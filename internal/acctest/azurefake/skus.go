package azurefake

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// DefaultSKUs is a catalogue shaped like `az vm list-skus` output: in eastus the GPU sizes of
// shared/contracts/gpu-catalog.md, a CPU-only size, a GPU size restricted for the subscription
// and a non-VM SKU; in westeurope the A100 and H100 sizes. VM sizes carry their family (the
// quota name), zones 1–3 and the capabilities Azure reports (vCPUs, MemoryGB, GPUs,
// HyperVGenerations, EncryptionAtHostSupported, TrustedLaunchDisabled, …).
func DefaultSKUs() []*armcompute.ResourceSKU {
	vm := func(name, family, loc, vcpus, memGB, gpus, hyperV string) *armcompute.ResourceSKU {
		caps := []*armcompute.ResourceSKUCapabilities{
			{Name: to.Ptr("vCPUs"), Value: to.Ptr(vcpus)},
			{Name: to.Ptr("vCPUsAvailable"), Value: to.Ptr(vcpus)},
			{Name: to.Ptr("MemoryGB"), Value: to.Ptr(memGB)},
			{Name: to.Ptr("HyperVGenerations"), Value: to.Ptr(hyperV)},
			{Name: to.Ptr("PremiumIO"), Value: to.Ptr("True")},
			{Name: to.Ptr("AcceleratedNetworkingEnabled"), Value: to.Ptr("True")},
			{Name: to.Ptr("EncryptionAtHostSupported"), Value: to.Ptr("True")},
		}
		if gpus != "" {
			caps = append(caps,
				&armcompute.ResourceSKUCapabilities{Name: to.Ptr("GPUs"), Value: to.Ptr(gpus)},
				// Azure reports trusted launch as unsupported for these GPU sizes.
				&armcompute.ResourceSKUCapabilities{Name: to.Ptr("TrustedLaunchDisabled"), Value: to.Ptr("True")},
			)
		}
		return &armcompute.ResourceSKU{
			Name: to.Ptr(name), ResourceType: to.Ptr("virtualMachines"), Tier: to.Ptr("Standard"), Size: to.Ptr(name[len("Standard_"):]),
			Family: to.Ptr(family), Locations: []*string{to.Ptr(loc)},
			LocationInfo: []*armcompute.ResourceSKULocationInfo{{Location: to.Ptr(loc), Zones: to.SliceOfPtrs("1", "2", "3")}},
			Capabilities: caps,
		}
	}
	restricted := vm("Standard_ND96isr_H200_v5", "standardNDSH200v5Family", "eastus", "96", "1850", "8", "V2")
	restricted.Restrictions = []*armcompute.ResourceSKURestrictions{{
		Type:            to.Ptr(armcompute.ResourceSKURestrictionsTypeLocation),
		Values:          []*string{to.Ptr("eastus")},
		RestrictionInfo: &armcompute.ResourceSKURestrictionInfo{Locations: []*string{to.Ptr("eastus")}},
		ReasonCode:      to.Ptr(armcompute.ResourceSKURestrictionsReasonCodeNotAvailableForSubscription),
	}}
	const (
		a100 = "standardNCADSA100v4Family"
		h100 = "standardNCadsH100v5Family"
		nd   = "standardNDSH100v5Family"
		a10  = "StandardNVADSA10v5Family"
	)
	return []*armcompute.ResourceSKU{
		vm("Standard_NC24ads_A100_v4", a100, "eastus", "24", "220", "1", "V1,V2"),
		vm("Standard_NC48ads_A100_v4", a100, "eastus", "48", "440", "2", "V1,V2"),
		vm("Standard_NC96ads_A100_v4", a100, "eastus", "96", "880", "4", "V1,V2"),
		vm("Standard_NC40ads_H100_v5", h100, "eastus", "40", "320", "1", "V2"),
		vm("Standard_NC80adis_H100_v5", h100, "eastus", "80", "640", "2", "V2"),
		vm("Standard_ND96isr_H100_v5", nd, "eastus", "96", "1900", "8", "V2"),
		restricted,
		vm("Standard_NV6ads_A10_v5", a10, "eastus", "6", "55", "1", "V1,V2"),
		vm("Standard_NV36ads_A10_v5", a10, "eastus", "36", "440", "1", "V1,V2"),
		vm("Standard_NV72ads_A10_v5", a10, "eastus", "72", "880", "2", "V1,V2"),
		vm("Standard_D4s_v5", "standardDSv5Family", "eastus", "4", "16", "", "V1,V2"),
		vm("Standard_NC24ads_A100_v4", a100, "westeurope", "24", "220", "1", "V1,V2"),
		vm("Standard_NC48ads_A100_v4", a100, "westeurope", "48", "440", "2", "V1,V2"),
		vm("Standard_NC96ads_A100_v4", a100, "westeurope", "96", "880", "4", "V1,V2"),
		vm("Standard_NC40ads_H100_v5", h100, "westeurope", "40", "320", "1", "V2"),
		vm("Standard_NC80adis_H100_v5", h100, "westeurope", "80", "640", "2", "V2"),
		vm("Standard_ND96isr_H100_v5", nd, "westeurope", "96", "1900", "8", "V2"),
		{Name: to.Ptr("Premium_LRS"), ResourceType: to.Ptr("disks"), Locations: []*string{to.Ptr("eastus")}},
	}
}
