package provider_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
)

// The two worked examples of the docs, to the cent. The data source needs no provider
// configuration at all.
func TestAccHostingCostDataSource_paysBack(t *testing.T) {
	t.Parallel()
	const addr = "data.inferstack_hosting_cost.owned"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: `
data "inferstack_hosting_cost" "owned" {
  input_tokens_per_day  = 20000000
  output_tokens_per_day = 5000000
  api = {
    input_usd_per_million  = 2.50
    output_usd_per_million = 10.00
  }
  self_host = {
    monthly_opex_usd  = 400
    upfront_usd       = 12000
    nodes             = 1
    tokens_per_second = 1500
  }
}

# Hardware already paid for: 0 up front is accepted, like null, and nothing pays back.
data "inferstack_hosting_cost" "paid" {
  input_tokens_per_day  = 20000000
  output_tokens_per_day = 5000000
  api = {
    input_usd_per_million  = 2.50
    output_usd_per_million = 10.00
  }
  self_host = {
    monthly_opex_usd  = 400
    upfront_usd       = 0
    tokens_per_second = 1500
  }
}

# Sixty times the output: one node carries 129.6M output tokens a day, so 300M need 3.
data "inferstack_hosting_cost" "busy" {
  input_tokens_per_day  = 20000000
  output_tokens_per_day = 300000000
  api = {
    input_usd_per_million  = 2.50
    output_usd_per_million = 10.00
  }
  self_host = {
    monthly_opex_usd  = 400
    upfront_usd       = 12000
    tokens_per_second = 1500
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				// API a day = 20 x 2.50 + 5 x 10.00 = $100; x 730 / 24 = $3,041.67 a month.
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_api_usd"), knownvalue.Float64Exact(3041.67)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_self_host_usd"), knownvalue.Float64Exact(400)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_savings_usd"), knownvalue.Float64Exact(2641.67)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("cheaper"), knownvalue.StringExact("self_host")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("nodes_needed"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("nodes"), knownvalue.Int64Exact(1)),
				// 5M / (1,500 x 86,400 = 129.6M)
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("capacity_utilisation"), knownvalue.Float64Exact(0.0386)),
				// 12,000 / (3,041.67 - 400)
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("payback_months"), knownvalue.Float64Exact(4.54)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("upfront_usd"), knownvalue.Float64Exact(12000)),
				// 400 / ($4 per million x 30.4167 days)
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("breakeven_tokens_per_day"), knownvalue.Float64Exact(3287672)),
				// Per million output tokens (5M x 30.4167 = 152.08M a month): the API's $100 a day / 5M,
				// the node's 400 / 152.08 at 3.86% utilisation.
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_usd_per_million_output"), knownvalue.Float64Exact(20)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("self_host_usd_per_million_output"), knownvalue.Float64Exact(2.6301)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("assumptions"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"hours_per_month":            knownvalue.Float64Exact(730),
					"days_per_month":             knownvalue.Float64Exact(30.416667),
					"tokens_per_day":             knownvalue.Float64Exact(25e6),
					"output_share":               knownvalue.Float64Exact(0.2),
					"api_usd_per_million":        knownvalue.Float64Exact(4),
					"node_monthly_usd":           knownvalue.Float64Exact(400),
					"node_output_tokens_per_day": knownvalue.Float64Exact(129.6e6),
					"minimum_nodes":              knownvalue.Int64Exact(1),
					"rented":                     knownvalue.Bool(false),
				})),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.paid", tfjsonpath.New("upfront_usd"), knownvalue.Float64Exact(0)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.paid", tfjsonpath.New("payback_months"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.paid", tfjsonpath.New("monthly_savings_usd"), knownvalue.Float64Exact(2641.67)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("nodes_needed"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("nodes"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("monthly_self_host_usd"), knownvalue.Float64Exact(1200)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("upfront_usd"), knownvalue.Float64Exact(36000)),
				// 300M / (3 x 129.6M) = 0.7716
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("capacity_utilisation"), knownvalue.Float64Exact(0.7716)),
				// Busier nodes cost less per token: 1,200 / (300M x 30.4167) x 1M; the API's
				// (20 x 2.50 + 300 x 10.00) / 300 stays what its mix bills.
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("self_host_usd_per_million_output"), knownvalue.Float64Exact(0.1315)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.busy", tfjsonpath.New("api_usd_per_million_output"), knownvalue.Float64Exact(10.1667)),
			},
		}},
	})
}

func TestAccHostingCostDataSource_apiCheaper(t *testing.T) {
	t.Parallel()
	const addr = "data.inferstack_hosting_cost.rented"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{{
			Config: `
data "inferstack_hosting_cost" "rented" {
  input_tokens_per_day  = 2000000
  output_tokens_per_day = 500000
  api = {
    input_usd_per_million  = 0.15
    output_usd_per_million = 0.60
  }
  self_host = {
    hourly_usd        = 1.861
    tokens_per_second = 400
  }
}

# The same node at 1,000 tokens/s breaks even.
data "inferstack_hosting_cost" "faster" {
  input_tokens_per_day  = 2000000
  output_tokens_per_day = 500000
  api = {
    input_usd_per_million  = 0.15
    output_usd_per_million = 0.60
  }
  self_host = {
    hourly_usd        = 1.861
    tokens_per_second = 1000
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				// (2 x 0.15 + 0.5 x 0.60) x 30.4167
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_api_usd"), knownvalue.Float64Exact(18.25)),
				// 1.861 x 730
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_self_host_usd"), knownvalue.Float64Exact(1358.53)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("monthly_savings_usd"), knownvalue.Float64Exact(-1340.28)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("cheaper"), knownvalue.StringExact("api")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("capacity_utilisation"), knownvalue.Float64Exact(0.0145)),
				// A fully used node carries 172.8M tokens a day in this mix, which the API bills
				// $1,261.44 a month: less than the node's $1,358.53, so it never breaks even.
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("breakeven_tokens_per_day"), knownvalue.Null()),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("payback_months"), knownvalue.Null()),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("upfront_usd"), knownvalue.Float64Exact(0)),
				// Per million output tokens (0.5M x 30.4167 = 15.21M a month): the API's $0.60 a day / 0.5M;
				// the node, 1.45% used, 1,358.53 / 15.21.
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("api_usd_per_million_output"), knownvalue.Float64Exact(1.2)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("self_host_usd_per_million_output"), knownvalue.Float64Exact(89.328)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("assumptions").AtMapKey("rented"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("assumptions").AtMapKey("node_monthly_usd"), knownvalue.Float64Exact(1358.53)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("assumptions").AtMapKey("api_usd_per_million"), knownvalue.Float64Func(func(v float64) error {
					if math.Abs(v-0.24) > 1e-9 {
						return fmt.Errorf("blended API price %v, want 0.24", v)
					}
					return nil
				})),
				// 1,358.53 / ($0.24 per million x 30.4167)
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.faster", tfjsonpath.New("breakeven_tokens_per_day"), knownvalue.Float64Exact(186100000)),
				statecheck.ExpectKnownValue("data.inferstack_hosting_cost.faster", tfjsonpath.New("cheaper"), knownvalue.StringExact("api")),
			},
		}},
	})
}

func TestAccHostingCostDataSource_badInput(t *testing.T) {
	t.Parallel()
	const api = "api = {\n  input_usd_per_million = 2.5\n  output_usd_per_million = 10\n}\n"
	const volume = "input_tokens_per_day = 1000000\noutput_tokens_per_day = 100000\n"
	const rented = "self_host = {\n  hourly_usd = 2\n  tokens_per_second = 500\n}\n"
	cases := map[string]struct {
		config string
		want   []string
	}{
		"zero volume": {"input_tokens_per_day = 0\noutput_tokens_per_day = 0\n" + api + rented,
			[]string{"The volume is zero: set input_tokens_per_day and output_tokens_per_day"}},
		"negative volume": {"input_tokens_per_day = -5\noutput_tokens_per_day = 100\n" + api + rented,
			[]string{"Attribute input_tokens_per_day value must be at least 0, got: -5"}},
		"free API": {volume + "api = {\n  input_usd_per_million = 0\n  output_usd_per_million = 0\n}\n" + rented,
			[]string{"api.output_usd_per_million: the API is free at these prices"}},
		"negative price": {volume + "api = {\n  input_usd_per_million = -1\n  output_usd_per_million = 10\n}\n" + rented,
			[]string{"Attribute api.input_usd_per_million value must be at least 0"}},
		"zero throughput": {volume + api + "self_host = {\n  hourly_usd = 2\n  tokens_per_second = 0\n}\n",
			[]string{"Attribute self_host.tokens_per_second value must be greater than 0, got: 0", "Measure it with a load test"}},
		"zero hourly": {volume + api + "self_host = {\n  hourly_usd = 0\n  tokens_per_second = 500\n}\n",
			[]string{"Attribute self_host.hourly_usd value must be greater than 0, got: 0"}},
		"both prices": {volume + api + "self_host = {\n  hourly_usd = 2\n  monthly_opex_usd = 400\n  tokens_per_second = 500\n}\n",
			[]string{"self_host.monthly_opex_usd: set hourly_usd for rented nodes or monthly_opex_usd for owned hardware, not both"}},
		"no price": {volume + api + "self_host = {\n  tokens_per_second = 500\n}\n",
			[]string{"self_host.hourly_usd: set hourly_usd (a rented node's price an hour) or monthly_opex_usd"}},
		"zero nodes": {volume + api + "self_host = {\n  hourly_usd = 2\n  nodes = 0\n  tokens_per_second = 500\n}\n",
			[]string{"Attribute self_host.nodes value must be at least 1, got: 0"}},
		"negative upfront": {volume + api + "self_host = {\n  monthly_opex_usd = 400\n  upfront_usd = -1\n  tokens_per_second = 500\n}\n",
			[]string{"Attribute self_host.upfront_usd value must be at least 0, got: -1", "Use 0 or leave it null"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProviderFactories(),
				Steps: []resource.TestStep{{
					Config:      "data \"inferstack_hosting_cost\" \"test\" {\n" + tc.config + "}\n",
					PlanOnly:    true,
					ExpectError: errorsLike(tc.want...),
				}},
			})
		})
	}
}
