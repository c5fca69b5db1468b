package acctest

import (
	"net/http"
	"sync"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7/fake"

	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
	"github.com/inferstack/terraform-provider-inferstack/internal/provider"
)

// AzureLab is the Azure SDK's in-process fake servers with in-memory state. No Azure emulator
// exists; these prove that requests are well-formed and that paging and long-running operations
// are driven the way the SDK expects.
type AzureLab struct {
	mu      sync.Mutex
	SKUs    []*armcompute.ResourceSKU
	Filters []string // every $filter the resource SKU list was called with
	Pages   int      // pages served
}

// SKUPageSize is how many SKUs the fake serves per page, small so that paging is exercised.
const SKUPageSize = 4

// NewAzureLab returns fakes holding a realistic SKU catalogue (see AzureSKUs).
func NewAzureLab() *AzureLab { return &AzureLab{SKUs: AzureSKUs()} }

// ProviderOption routes the provider's Azure clients to the fakes.
func (l *AzureLab) ProviderOption() provider.Option {
	factory := &computefake.ServerFactory{
		ResourceSKUsServer: computefake.ResourceSKUsServer{NewListPager: l.listSKUs},
	}
	return provider.WithAzureTestHooks(azurebackend.TestHooks{
		Transport:  computefake.NewServerFactoryTransport(factory),
		Credential: &azfake.TokenCredential{},
	})
}

func (l *AzureLab) listSKUs(o *armcompute.ResourceSKUsClientListOptions) azfake.PagerResponder[armcompute.ResourceSKUsClientListResponse] {
	l.mu.Lock()
	defer l.mu.Unlock()
	filter := ""
	if o != nil && o.Filter != nil {
		filter = *o.Filter
	}
	l.Filters = append(l.Filters, filter)
	var resp azfake.PagerResponder[armcompute.ResourceSKUsClientListResponse]
	for i := 0; i < len(l.SKUs); i += SKUPageSize {
		end := min(i+SKUPageSize, len(l.SKUs))
		resp.AddPage(http.StatusOK, armcompute.ResourceSKUsClientListResponse{
			ResourceSKUsResult: armcompute.ResourceSKUsResult{Value: l.SKUs[i:end]},
		}, nil)
		l.Pages++
	}
	return resp
}

// Calls returns the filters seen and pages served so far.
func (l *AzureLab) Calls() (filters []string, pages int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.Filters...), l.Pages
}

// AzureSKUs is a catalogue shaped like `az vm list-skus` output for eastus: GPU sizes from
// shared/contracts/gpu-catalog.md, a CPU-only size, a GPU size restricted for the subscription,
// a non-VM SKU, and a size offered only in another location.
func AzureSKUs() []*armcompute.ResourceSKU {
	vm := func(name, loc string, vcpus, memGB, gpus string) *armcompute.ResourceSKU {
		caps := []*armcompute.ResourceSKUCapabilities{
			{Name: to.Ptr("vCPUs"), Value: to.Ptr(vcpus)},
			{Name: to.Ptr("MemoryGB"), Value: to.Ptr(memGB)},
		}
		if gpus != "" {
			caps = append(caps, &armcompute.ResourceSKUCapabilities{Name: to.Ptr("GPUs"), Value: to.Ptr(gpus)})
		}
		return &armcompute.ResourceSKU{
			Name:         to.Ptr(name),
			ResourceType: to.Ptr("virtualMachines"),
			Tier:         to.Ptr("Standard"),
			Locations:    []*string{to.Ptr(loc)},
			Capabilities: caps,
		}
	}
	restricted := vm("Standard_ND96isr_H200_v5", "eastus", "96", "1850", "8")
	restricted.Restrictions = []*armcompute.ResourceSKURestrictions{{
		Type:       to.Ptr(armcompute.ResourceSKURestrictionsTypeLocation),
		Values:     []*string{to.Ptr("eastus")},
		ReasonCode: to.Ptr(armcompute.ResourceSKURestrictionsReasonCodeNotAvailableForSubscription),
	}}
	return []*armcompute.ResourceSKU{
		vm("Standard_NC24ads_A100_v4", "eastus", "24", "220", "1"),
		vm("Standard_NC48ads_A100_v4", "eastus", "48", "440", "2"),
		vm("Standard_NC96ads_A100_v4", "eastus", "96", "880", "4"),
		vm("Standard_NC40ads_H100_v5", "eastus", "40", "320", "1"),
		vm("Standard_NC80adis_H100_v5", "eastus", "80", "640", "2"),
		vm("Standard_ND96isr_H100_v5", "eastus", "96", "1900", "8"),
		restricted,
		vm("Standard_NV6ads_A10_v5", "eastus", "6", "55", "1"),
		vm("Standard_NV36ads_A10_v5", "eastus", "36", "440", "1"),
		vm("Standard_NV72ads_A10_v5", "eastus", "72", "880", "2"),
		vm("Standard_D4s_v5", "eastus", "4", "16", ""),
		vm("Standard_NC24ads_A100_v4", "westeurope", "24", "220", "1"),
		{Name: to.Ptr("Premium_LRS"), ResourceType: to.Ptr("disks"), Locations: []*string{to.Ptr("eastus")}},
	}
}
