package provider

import (
	"context"
	"math"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/cost"
)

var (
	_ datasource.DataSource                   = &hostingCostDataSource{}
	_ datasource.DataSourceWithValidateConfig = &hostingCostDataSource{}
)

func newHostingCostDataSource() datasource.DataSource { return &hostingCostDataSource{} }

// hostingCostDataSource is pure arithmetic: it needs no client and no provider configuration.
type hostingCostDataSource struct{}

const hostingCostSummary = "comparing hosting cost"

func (d *hostingCostDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_hosting_cost"
}

func (d *hostingCostDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	positive := func(what string) []validator.Float64 {
		return []validator.Float64{float64Above(0, math.NaN(), what)}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Compares a closed API with self-hosting for a token volume: the monthly cost each way, the " +
			"daily volume at which self-hosting breaks even, how many nodes the volume needs, and how many months owned " +
			"hardware takes to pay for itself. Pure arithmetic, no network call; every assumption is echoed in " +
			"`assumptions`. A month is 730 hours (30.42 days).",
		Attributes: map[string]schema.Attribute{
			"input_tokens_per_day": schema.Float64Attribute{
				Required:            true,
				MarkdownDescription: "Prompt (input) tokens a day, 0 or more.",
				Validators:          []validator.Float64{float64AtLeast(0, "")},
			},
			"output_tokens_per_day": schema.Float64Attribute{
				Required:            true,
				MarkdownDescription: "Generated (output) tokens a day, 0 or more. Together with `input_tokens_per_day` it must be above 0.",
				Validators:          []validator.Float64{float64AtLeast(0, "")},
			},
			"api": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "The closed API's list price.",
				Attributes: map[string]schema.Attribute{
					"input_usd_per_million": schema.Float64Attribute{
						Required:            true,
						MarkdownDescription: "USD per million input tokens, e.g. 2.50.",
						Validators:          []validator.Float64{float64AtLeast(0, "Use the API's list price.")},
					},
					"output_usd_per_million": schema.Float64Attribute{
						Required:            true,
						MarkdownDescription: "USD per million output tokens, e.g. 10.00.",
						Validators:          []validator.Float64{float64AtLeast(0, "Use the API's list price.")},
					},
				},
			},
			"self_host": schema.SingleNestedAttribute{
				Required: true,
				MarkdownDescription: "Self-hosted nodes. Set `hourly_usd` for rented nodes or `monthly_opex_usd` for owned " +
					"hardware, not both. All money is per node.",
				Attributes: map[string]schema.Attribute{
					"hourly_usd": schema.Float64Attribute{
						Optional:            true,
						MarkdownDescription: "A rented node's price an hour, USD (x 730 a month).",
						Validators:          positive("Set one node's price an hour."),
					},
					"monthly_opex_usd": schema.Float64Attribute{
						Optional:            true,
						MarkdownDescription: "An owned node's running cost a month (power, space, support), USD.",
						Validators:          positive("Set one owned node's running cost a month."),
					},
					"nodes": schema.Int64Attribute{
						Optional: true,
						MarkdownDescription: "Nodes you run at least (for redundancy). Defaults to 1; more are priced when the " +
							"volume needs them.",
						Validators: []validator.Int64{int64validator.AtLeast(1)},
					},
					"tokens_per_second": schema.Float64Attribute{
						Required: true,
						MarkdownDescription: "One node's sustained output (generated) throughput at the batch sizes you serve, " +
							"tokens a second. Input tokens are assumed to be absorbed by it (prefill is much faster than " +
							"decoding): lower it for prompt-heavy traffic.",
						Validators: positive("Measure it with a load test of your deployment, or start from a published benchmark."),
					},
					"upfront_usd": schema.Float64Attribute{
						Optional: true,
						MarkdownDescription: "One owned node's purchase price, USD, for `payback_months`. Null or 0 when nothing is " +
							"paid up front (renting, or hardware already paid for).",
						Validators: []validator.Float64{float64AtLeast(0, "Use 0 or leave it null when nothing is paid up front.")},
					},
				},
			},

			"monthly_api_usd": schema.Float64Attribute{
				Computed:            true,
				MarkdownDescription: "The API's bill a month, USD: (input a day x input price + output a day x output price) / 1,000,000 x 30.42.",
			},
			"monthly_self_host_usd": schema.Float64Attribute{
				Computed:            true,
				MarkdownDescription: "`nodes` x (`hourly_usd` x 730, or `monthly_opex_usd`), USD.",
			},
			"monthly_savings_usd": schema.Float64Attribute{
				Computed:            true,
				MarkdownDescription: "`monthly_api_usd` - `monthly_self_host_usd`: negative when the API is cheaper.",
			},
			"cheaper": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`self_host` when its monthly running cost is lower, else `api` (ties go to the API). " +
					"The purchase price is weighed by `payback_months`.",
			},
			"nodes_needed": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Nodes the volume needs: ceil(output tokens a day / (`tokens_per_second` x 86,400)).",
			},
			"nodes": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Nodes priced: max(`self_host.nodes`, `nodes_needed`).",
			},
			"capacity_utilisation": schema.Float64Attribute{
				Computed:            true,
				MarkdownDescription: "Share of the priced nodes' throughput the volume uses, 0 to 1 (four decimals).",
			},
			"breakeven_tokens_per_day": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Daily volume (input + output, in today's mix) above which `self_host.nodes` nodes cost " +
					"less a month than the API; null when self-hosting never breaks even (even a fully used node costs more " +
					"than the API would charge for its tokens).",
			},
			"upfront_usd": schema.Float64Attribute{
				Computed:            true,
				MarkdownDescription: "`nodes` x `self_host.upfront_usd`, USD (0 when renting).",
			},
			"payback_months": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "`upfront_usd` / `monthly_savings_usd`: months the purchase takes to pay for itself; null " +
					"without `upfront_usd` or when self-hosting saves nothing (it never pays back).",
			},
			"api_usd_per_million_output": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "The API's whole bill per million output tokens, USD: `monthly_api_usd` / (output tokens a " +
					"day x 30.42) x 1,000,000, input tokens included, so that it compares with " +
					"`self_host_usd_per_million_output`. Four decimals; null without output tokens.",
			},
			"self_host_usd_per_million_output": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Self-hosting's cost per million output tokens at this volume, i.e. at " +
					"`capacity_utilisation` of the priced nodes, USD: `monthly_self_host_usd` / (output tokens a day x 30.42) x " +
					"1,000,000. It falls as utilisation rises. Four decimals; null without output tokens.",
			},
			"assumptions": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The inputs and constants the comparison used.",
				Attributes: map[string]schema.Attribute{
					"hours_per_month":            schema.Float64Attribute{Computed: true, MarkdownDescription: "Hours in a month: 730 (8,760 / 12)."},
					"days_per_month":             schema.Float64Attribute{Computed: true, MarkdownDescription: "Days in a month: 730 / 24 = 30.4167."},
					"tokens_per_day":             schema.Float64Attribute{Computed: true, MarkdownDescription: "Input + output tokens a day."},
					"output_share":               schema.Float64Attribute{Computed: true, MarkdownDescription: "Output tokens / all tokens (the mix)."},
					"api_usd_per_million":        schema.Float64Attribute{Computed: true, MarkdownDescription: "The API's blended price per million tokens in this mix, USD."},
					"node_monthly_usd":           schema.Float64Attribute{Computed: true, MarkdownDescription: "One node's running cost a month, USD."},
					"node_output_tokens_per_day": schema.Float64Attribute{Computed: true, MarkdownDescription: "One node's output capacity a day: `tokens_per_second` x 86,400."},
					"minimum_nodes":              schema.Int64Attribute{Computed: true, MarkdownDescription: "`self_host.nodes` after its default."},
					"rented":                     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the nodes are rented (`hourly_usd`) rather than owned."},
				},
			},
		},
	}
}

// ValidateConfig catches, at plan time, what the per-attribute validators cannot see: a volume
// or an API price that is zero on both sides, and a node price given both ways or neither.
func (d *hostingCostDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	bothZero := func(a, b path.Path) bool {
		var x, y types.Float64
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, a, &x)...)
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, b, &y)...)
		return !x.IsNull() && !x.IsUnknown() && !y.IsNull() && !y.IsUnknown() && x.ValueFloat64() == 0 && y.ValueFloat64() == 0
	}
	if bothZero(path.Root(cost.AttrInputTokensPerDay), path.Root(cost.AttrOutputTokensPerDay)) {
		resp.Diagnostics.AddAttributeError(path.Root(cost.AttrOutputTokensPerDay), "invalid token volume",
			"The volume is zero: set input_tokens_per_day and output_tokens_per_day to the tokens you expect a day.")
	}
	api := path.Root(cost.AttrAPI)
	if bothZero(api.AtName(cost.AttrInputUSDPerMillion), api.AtName(cost.AttrOutputUSDPerMillion)) {
		resp.Diagnostics.AddAttributeError(api.AtName(cost.AttrOutputUSDPerMillion), "invalid API price",
			"api.output_usd_per_million: the API is free at these prices: set input_usd_per_million and output_usd_per_million to its list prices.")
	}

	self := path.Root(cost.AttrSelfHost)
	var hourly, monthly types.Float64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, self.AtName(cost.AttrHourlyUSD), &hourly)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, self.AtName(cost.AttrMonthlyOpexUSD), &monthly)...)
	switch {
	case hourly.IsUnknown() || monthly.IsUnknown():
	case hourly.IsNull() && monthly.IsNull():
		resp.Diagnostics.AddAttributeError(self.AtName(cost.AttrHourlyUSD), "missing node price",
			"self_host.hourly_usd: set hourly_usd (a rented node's price an hour) or monthly_opex_usd (an owned node's running cost a month).")
	case !hourly.IsNull() && !monthly.IsNull():
		resp.Diagnostics.AddAttributeError(self.AtName(cost.AttrMonthlyOpexUSD), "conflicting node prices",
			"self_host.monthly_opex_usd: set hourly_usd for rented nodes or monthly_opex_usd for owned hardware, not both.")
	}
}

func (d *hostingCostDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m hostingCostDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	e, err := cost.Compute(expandHostingCost(m))
	if err != nil {
		addProblems(&resp.Diagnostics, path.Empty(), hostingCostSummary, err)
		return
	}
	flattenHostingCost(&m, e)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type hostingCostDataSourceModel struct {
	InputTokensPerDay  types.Float64        `tfsdk:"input_tokens_per_day"`
	OutputTokensPerDay types.Float64        `tfsdk:"output_tokens_per_day"`
	API                hostingCostAPIModel  `tfsdk:"api"`
	SelfHost           hostingCostSelfModel `tfsdk:"self_host"`

	MonthlyAPIUSD         types.Float64                `tfsdk:"monthly_api_usd"`
	MonthlySelfHostUSD    types.Float64                `tfsdk:"monthly_self_host_usd"`
	MonthlySavingsUSD     types.Float64                `tfsdk:"monthly_savings_usd"`
	Cheaper               types.String                 `tfsdk:"cheaper"`
	NodesNeeded           types.Int64                  `tfsdk:"nodes_needed"`
	Nodes                 types.Int64                  `tfsdk:"nodes"`
	CapacityUtilisation   types.Float64                `tfsdk:"capacity_utilisation"`
	BreakevenTokensPerDay types.Float64                `tfsdk:"breakeven_tokens_per_day"`
	UpfrontUSD            types.Float64                `tfsdk:"upfront_usd"`
	PaybackMonths         types.Float64                `tfsdk:"payback_months"`
	APIUSDPerMillionOut   types.Float64                `tfsdk:"api_usd_per_million_output"`
	SelfUSDPerMillionOut  types.Float64                `tfsdk:"self_host_usd_per_million_output"`
	Assumptions           *hostingCostAssumptionsModel `tfsdk:"assumptions"`
}

type hostingCostAPIModel struct {
	InputUSDPerMillion  types.Float64 `tfsdk:"input_usd_per_million"`
	OutputUSDPerMillion types.Float64 `tfsdk:"output_usd_per_million"`
}

type hostingCostSelfModel struct {
	HourlyUSD       types.Float64 `tfsdk:"hourly_usd"`
	MonthlyOpexUSD  types.Float64 `tfsdk:"monthly_opex_usd"`
	Nodes           types.Int64   `tfsdk:"nodes"`
	TokensPerSecond types.Float64 `tfsdk:"tokens_per_second"`
	UpfrontUSD      types.Float64 `tfsdk:"upfront_usd"`
}

type hostingCostAssumptionsModel struct {
	HoursPerMonth          types.Float64 `tfsdk:"hours_per_month"`
	DaysPerMonth           types.Float64 `tfsdk:"days_per_month"`
	TokensPerDay           types.Float64 `tfsdk:"tokens_per_day"`
	OutputShare            types.Float64 `tfsdk:"output_share"`
	APIUSDPerMillion       types.Float64 `tfsdk:"api_usd_per_million"`
	NodeMonthlyUSD         types.Float64 `tfsdk:"node_monthly_usd"`
	NodeOutputTokensPerDay types.Float64 `tfsdk:"node_output_tokens_per_day"`
	MinimumNodes           types.Int64   `tfsdk:"minimum_nodes"`
	Rented                 types.Bool    `tfsdk:"rented"`
}

func expandHostingCost(m hostingCostDataSourceModel) cost.Request {
	return cost.Request{
		InputTokensPerDay:  m.InputTokensPerDay.ValueFloat64(),
		OutputTokensPerDay: m.OutputTokensPerDay.ValueFloat64(),
		API: cost.APIPrice{
			InputUSDPerMillion:  m.API.InputUSDPerMillion.ValueFloat64(),
			OutputUSDPerMillion: m.API.OutputUSDPerMillion.ValueFloat64(),
		},
		SelfHost: cost.SelfHost{
			HourlyUSD:       m.SelfHost.HourlyUSD.ValueFloat64Pointer(),
			MonthlyOpexUSD:  m.SelfHost.MonthlyOpexUSD.ValueFloat64Pointer(),
			Nodes:           m.SelfHost.Nodes.ValueInt64Pointer(),
			TokensPerSecond: m.SelfHost.TokensPerSecond.ValueFloat64(),
			UpfrontUSD:      m.SelfHost.UpfrontUSD.ValueFloat64Pointer(),
		},
	}
}

// flattenHostingCost copies an estimate into the model. The echoed assumptions are rounded
// (money to cents, the mix and the days to six decimals) so that they read as the docs state them.
func flattenHostingCost(m *hostingCostDataSourceModel, e *cost.Estimate) {
	m.MonthlyAPIUSD = types.Float64Value(e.MonthlyAPIUSD)
	m.MonthlySelfHostUSD = types.Float64Value(e.MonthlySelfHostUSD)
	m.MonthlySavingsUSD = types.Float64Value(e.MonthlySavingsUSD)
	m.Cheaper = types.StringValue(e.Cheaper)
	m.NodesNeeded = types.Int64Value(e.NodesNeeded)
	m.Nodes = types.Int64Value(e.Nodes)
	m.CapacityUtilisation = types.Float64Value(e.CapacityUtilisation)
	m.BreakevenTokensPerDay = types.Float64PointerValue(e.BreakevenTokensPerDay)
	m.UpfrontUSD = types.Float64Value(e.UpfrontUSD)
	m.PaybackMonths = types.Float64PointerValue(e.PaybackMonths)
	m.APIUSDPerMillionOut = types.Float64PointerValue(e.APIUSDPerMillionOutput)
	m.SelfUSDPerMillionOut = types.Float64PointerValue(e.SelfHostUSDPerMillionOutput)
	a := e.Assumptions
	m.Assumptions = &hostingCostAssumptionsModel{
		HoursPerMonth:          types.Float64Value(a.HoursPerMonth),
		DaysPerMonth:           types.Float64Value(roundTo(a.DaysPerMonth, 6)),
		TokensPerDay:           types.Float64Value(a.TokensPerDay),
		OutputShare:            types.Float64Value(roundTo(a.OutputShare, 6)),
		APIUSDPerMillion:       types.Float64Value(roundTo(a.APIUSDPerMillion, 6)),
		NodeMonthlyUSD:         types.Float64Value(roundTo(a.NodeMonthlyUSD, 2)),
		NodeOutputTokensPerDay: types.Float64Value(a.NodeOutputTokensPerDay),
		MinimumNodes:           types.Int64Value(a.MinimumNodes),
		Rented:                 types.BoolValue(a.Rented),
	}
}

func roundTo(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
