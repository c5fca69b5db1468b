package provider

import (
	"context"
	"fmt"
	"math"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

var (
	_ datasource.DataSource                   = &gpuTypesDataSource{}
	_ datasource.DataSourceWithConfigure      = &gpuTypesDataSource{}
	_ datasource.DataSourceWithValidateConfig = &gpuTypesDataSource{}
)

func newGPUTypesDataSource() datasource.DataSource { return &gpuTypesDataSource{} }

type gpuTypesDataSource struct {
	data *providerData
}

func (d *gpuTypesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_gpu_types"
}

func (d *gpuTypesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the GPU instance types a cloud offers in a region, from the cloud's own catalog: " +
			"AWS `DescribeInstanceTypes` (every page; types with GPU information only), Azure resource SKUs (VM " +
			"sizes with GPUs that are not restricted for the subscription in that location) joined with a table of " +
			"GPU model and memory by VM size, since Azure's SKU list gives only the GPU count.",
		Attributes: map[string]schema.Attribute{
			"cloud": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Which cloud's catalog to read: `aws` or `azure`.",
				Validators:          []validator.String{stringvalidator.OneOf("aws", "azure")},
			},
			"region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "AWS region (e.g. `us-east-1`) or Azure location (e.g. `eastus`). For AWS it defaults " +
					"to the provider's region; for Azure it is required.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"min_gpu_memory_gib": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Keep only types whose GPUs each have at least this much memory, in GiB (1 GiB = 1024 MiB).",
				Validators:          []validator.Int64{int64validator.AtLeast(0)},
			},
			"min_gpu_count": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Keep only types with at least this many GPUs.",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"gpu_manufacturer": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Keep only GPUs of this manufacturer as the cloud names it (e.g. `NVIDIA`, which " +
					"the `vllm/vllm-openai` CUDA image needs). By default every manufacturer is listed.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"types": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching types, sorted by name.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":             schema.StringAttribute{Computed: true, MarkdownDescription: "Instance type (AWS) or VM size (Azure)."},
						"gpu_manufacturer": schema.StringAttribute{Computed: true, MarkdownDescription: "GPU manufacturer, e.g. `NVIDIA`."},
						"gpu_model":        schema.StringAttribute{Computed: true, MarkdownDescription: "GPU model as the cloud names it, e.g. `L40S`, `H100`, `A100 80GB`."},
						"gpu_count":        schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs per instance (1 for a vGPU partition; see `gpu_fraction`)."},
						"gpu_fraction":     schema.Float64Attribute{Computed: true, MarkdownDescription: "Share of one physical GPU: 1 for whole GPUs, less for Azure's vGPU partitions (e.g. NV6ads A10 v5 = 1/6)."},
						"gpu_memory_mib":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Memory per GPU (or per partition), MiB."},
						"vcpus":            schema.Int64Attribute{Computed: true, MarkdownDescription: "Default vCPUs."},
						"memory_mib":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Host memory, MiB."},
					},
				},
			},
		},
	}
}

func (d *gpuTypesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig catches, at plan time, what the schema validators cannot see alone.
func (d *gpuTypesDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m gpuTypesDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Cloud.ValueString() == "azure" && m.Region.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("region"), "missing Azure location",
			`region is required when cloud = "azure": set it to an Azure location such as "eastus".`)
	}
}

func (d *gpuTypesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m gpuTypesDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cloud, region := m.Cloud.ValueString(), m.Region.ValueString()

	tflog.Debug(ctx, "listing GPU instance types", map[string]any{"cloud": cloud, "region": region})
	all, err := d.data.GPUTypes(ctx, cloud, region) // listed once per run, shared with inferstack_deployment_plan
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("listing GPU types (%s %s)", cloud, region), err.Error())
		return
	}

	minMiB := m.MinGPUMemoryGiB.ValueInt64() * 1024
	minCount := m.MinGPUCount.ValueInt64()
	manufacturer := m.GPUManufacturer.ValueString()
	m.Types = []gpuTypeModel{}
	for _, t := range all {
		if t.GPUMemoryMiB < minMiB || t.GPUCount < minCount {
			continue
		}
		if manufacturer != "" && t.GPUManufacturer != manufacturer {
			continue
		}
		m.Types = append(m.Types, flattenGPUType(t))
	}
	tflog.Debug(ctx, "listed GPU instance types", map[string]any{"cloud": cloud, "all": len(all), "matching": len(m.Types)})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type gpuTypesDataSourceModel struct {
	Cloud           types.String   `tfsdk:"cloud"`
	Region          types.String   `tfsdk:"region"`
	MinGPUMemoryGiB types.Int64    `tfsdk:"min_gpu_memory_gib"`
	MinGPUCount     types.Int64    `tfsdk:"min_gpu_count"`
	GPUManufacturer types.String   `tfsdk:"gpu_manufacturer"`
	Types           []gpuTypeModel `tfsdk:"types"`
}

type gpuTypeModel struct {
	Name            types.String  `tfsdk:"name"`
	GPUManufacturer types.String  `tfsdk:"gpu_manufacturer"`
	GPUModel        types.String  `tfsdk:"gpu_model"`
	GPUCount        types.Int64   `tfsdk:"gpu_count"`
	GPUFraction     types.Float64 `tfsdk:"gpu_fraction"`
	GPUMemoryMiB    types.Int64   `tfsdk:"gpu_memory_mib"`
	VCPUs           types.Int64   `tfsdk:"vcpus"`
	MemoryMiB       types.Int64   `tfsdk:"memory_mib"`
}

func flattenGPUType(t backend.GPUType) gpuTypeModel {
	return gpuTypeModel{
		Name:            types.StringValue(t.Name),
		GPUManufacturer: types.StringValue(t.GPUManufacturer),
		GPUModel:        types.StringValue(t.GPUModel),
		GPUCount:        types.Int64Value(t.GPUCount),
		GPUFraction:     types.Float64Value(math.Round(t.GPUFraction*10000) / 10000),
		GPUMemoryMiB:    types.Int64Value(t.GPUMemoryMiB),
		VCPUs:           types.Int64Value(t.VCPUs),
		MemoryMiB:       types.Int64Value(t.MemoryMiB),
	}
}
