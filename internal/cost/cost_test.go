package cost

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

type want struct {
	api, self, savings float64
	cheaper            string
	nodesNeeded, nodes int64
	utilisation        float64
	breakeven          *float64
	upfront            float64
	payback            *float64
	// each side's monthly bill per million output tokens
	apiPerMOut, selfPerMOut *float64
}

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  Request
		want want
	}{
		{
			// doc.go example 1. API $100/day x 730/24 = $3,041.67; one owned node at $400;
			// capacity 1,500 x 86,400 = 129.6M/day, 5M/129.6M = 0.0386; payback 12,000 / 2,641.67 = 4.54;
			// blended $100 / 25M = $4/M, break-even 400 / (4e-6 x 30.41667) = 3,287,671.2 -> 3,287,672.
			name: "owned hardware pays back in months",
			req: Request{InputTokensPerDay: 20e6, OutputTokensPerDay: 5e6, API: APIPrice{2.5, 10},
				SelfHost: SelfHost{MonthlyOpexUSD: new(400.0), TokensPerSecond: 1500, UpfrontUSD: new(12000.0)}},
			// Per million output tokens (5M x 30.41667 = 152.08M a month): API 3,041.67 / 152.08 = 20 (its
			// $100 a day over 5M output), self-hosting 400 / 152.08 = 2.6301.
			want: want{api: 3041.67, self: 400, savings: 2641.67, cheaper: "self_host", nodesNeeded: 1, nodes: 1,
				utilisation: 0.0386, breakeven: new(3287672.0), upfront: 12000, payback: new(4.54),
				apiPerMOut: new(20.0), selfPerMOut: new(2.6301)},
		},
		{
			// doc.go example 2. API (0.30 + 0.30) x 30.41667 = $18.25; node 1.861 x 730 = $1,358.53;
			// 400 tok/s = 34.56M output/day, 0.5M/34.56M = 0.0145. A full node in this mix (172.8M/day)
			// bills $1,261.44 a month at $0.24/M: less than the node, so never.
			name: "the API stays cheaper at any volume",
			req: Request{InputTokensPerDay: 2e6, OutputTokensPerDay: 0.5e6, API: APIPrice{0.15, 0.60},
				SelfHost: SelfHost{HourlyUSD: new(1.861), TokensPerSecond: 400}},
			// Per million output tokens (0.5M x 30.41667 = 15.21M a month): API $0.60 a day / 0.5M = 1.2;
			// the node at 1.45% utilisation 1,358.53 / 15.2083 = 89.328.
			want: want{api: 18.25, self: 1358.53, savings: -1340.28, cheaper: "api", nodesNeeded: 1, nodes: 1, utilisation: 0.0145,
				apiPerMOut: new(1.2), selfPerMOut: new(89.328)},
		},
		{
			// The same at 1,000 tok/s: a full node (432M/day in this mix) bills $3,153.60 > $1,358.53, so
			// break-even at 1,358.53 / (2.4e-7 x 30.41667 = 7.3e-6) = 186,100,000 tokens a day.
			name: "a rented node breaks even at a higher volume",
			req: Request{InputTokensPerDay: 2e6, OutputTokensPerDay: 0.5e6, API: APIPrice{0.15, 0.60},
				SelfHost: SelfHost{HourlyUSD: new(1.861), TokensPerSecond: 1000}},
			want: want{api: 18.25, self: 1358.53, savings: -1340.28, cheaper: "api", nodesNeeded: 1, nodes: 1, utilisation: 0.0058,
				breakeven: new(186100000.0), apiPerMOut: new(1.2), selfPerMOut: new(89.328)},
		},
		{
			// 300M output a day against 129.6M per node: ceil(2.31) = 3 nodes priced although 1 was given;
			// utilisation 300 / 388.8 = 0.7716. API 100M x 2.5 + 300M x 10 = $3,250/day = $98,854.17/month;
			// nodes 3 x $400 = $1,200; upfront 3 x 12,000 = 36,000; payback 36,000 / 97,654.17 = 0.37.
			// Break-even stays at 1 node: blended $3,250 / 400M = $8.125/M; 400 / (8.125e-6 x 30.41667) = 1,618,545.8 -> 1,618,546.
			name: "the volume needs more nodes than given",
			req: Request{InputTokensPerDay: 100e6, OutputTokensPerDay: 300e6, API: APIPrice{2.5, 10},
				SelfHost: SelfHost{MonthlyOpexUSD: new(400.0), TokensPerSecond: 1500, UpfrontUSD: new(12000.0)}},
			// Per million output tokens (300M x 30.41667 = 9,125M a month): API $3,250 a day / 300M = 10.8333;
			// three nodes at 77% 1,200 / 9,125 = 0.1315.
			want: want{api: 98854.17, self: 1200, savings: 97654.17, cheaper: "self_host", nodesNeeded: 3, nodes: 3,
				utilisation: 0.7716, breakeven: new(1618546.0), upfront: 36000, payback: new(0.37),
				apiPerMOut: new(10.8333), selfPerMOut: new(0.1315)},
		},
		{
			// Two nodes kept for redundancy: 2 x 2.5 x 730 = $3,650; API 10M x $1 = $10/day = $304.17.
			// Blended $1/M; break-even with 2 nodes: 3,650 / (1e-6 x 30.41667) = 120,000,000 (no output
			// tokens, so throughput never limits it). An upfront payment (a reservation) never pays back
			// because the API is cheaper: payback nil, upfront 2 x 1,000. No output tokens: no price per
			// million output tokens on either side.
			name: "minimum nodes and input-only traffic",
			req: Request{InputTokensPerDay: 10e6, API: APIPrice{1, 4},
				SelfHost: SelfHost{HourlyUSD: new(2.5), Nodes: new(int64(2)), TokensPerSecond: 500, UpfrontUSD: new(1000.0)}},
			want: want{api: 304.17, self: 3650, savings: -3345.83, cheaper: "api", nodesNeeded: 0, nodes: 2, utilisation: 0,
				breakeven: new(120000000.0), upfront: 2000},
		},
		{
			// Nothing paid up front (0, as null): upfront 0 and no payback although self-hosting saves
			// $2,641.67 a month.
			name: "zero upfront is nothing up front",
			req: Request{InputTokensPerDay: 20e6, OutputTokensPerDay: 5e6, API: APIPrice{2.5, 10},
				SelfHost: SelfHost{MonthlyOpexUSD: new(400.0), TokensPerSecond: 1500, UpfrontUSD: new(0.0)}},
			want: want{api: 3041.67, self: 400, savings: 2641.67, cheaper: "self_host", nodesNeeded: 1, nodes: 1,
				utilisation: 0.0386, breakeven: new(3287672.0), apiPerMOut: new(20.0), selfPerMOut: new(2.6301)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compute(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			got := want{api: e.MonthlyAPIUSD, self: e.MonthlySelfHostUSD, savings: e.MonthlySavingsUSD, cheaper: e.Cheaper,
				nodesNeeded: e.NodesNeeded, nodes: e.Nodes, utilisation: e.CapacityUtilisation, breakeven: e.BreakevenTokensPerDay,
				upfront: e.UpfrontUSD, payback: e.PaybackMonths, apiPerMOut: e.APIUSDPerMillionOutput, selfPerMOut: e.SelfHostUSDPerMillionOutput}
			if got.api != tt.want.api || got.self != tt.want.self || got.savings != tt.want.savings || got.cheaper != tt.want.cheaper ||
				got.nodesNeeded != tt.want.nodesNeeded || got.nodes != tt.want.nodes || got.utilisation != tt.want.utilisation ||
				got.upfront != tt.want.upfront || !eqPtr(got.breakeven, tt.want.breakeven) || !eqPtr(got.payback, tt.want.payback) ||
				!eqPtr(got.apiPerMOut, tt.want.apiPerMOut) || !eqPtr(got.selfPerMOut, tt.want.selfPerMOut) {
				t.Errorf("got  %s\nwant %s", describe(got), describe(tt.want))
			}
		})
	}
}

func eqPtr(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func describe(w want) string {
	p := func(v *float64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("api %v self %v savings %v cheaper %s needed %d nodes %d util %v breakeven %s upfront %v payback %s per M output: api %s self %s",
		w.api, w.self, w.savings, w.cheaper, w.nodesNeeded, w.nodes, w.utilisation, p(w.breakeven), w.upfront, p(w.payback),
		p(w.apiPerMOut), p(w.selfPerMOut))
}

func TestComputeAssumptions(t *testing.T) {
	t.Parallel()
	e, err := Compute(Request{InputTokensPerDay: 20e6, OutputTokensPerDay: 5e6, API: APIPrice{2.5, 10},
		SelfHost: SelfHost{HourlyUSD: new(1.0), TokensPerSecond: 1500}})
	if err != nil {
		t.Fatal(err)
	}
	a := e.Assumptions
	if a.HoursPerMonth != 730 || math.Abs(a.DaysPerMonth-30.416666666) > 1e-6 || a.TokensPerDay != 25e6 || a.OutputShare != 0.2 ||
		math.Abs(a.APIUSDPerMillion-4) > 1e-9 || a.NodeMonthlyUSD != 730 || a.NodeOutputTokensPerDay != 129.6e6 || a.MinimumNodes != 1 || !a.Rented {
		t.Errorf("Assumptions = %+v", a)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Request{InputTokensPerDay: 1e6, OutputTokensPerDay: 1e6, API: APIPrice{1, 2}, SelfHost: SelfHost{HourlyUSD: new(1.0), TokensPerSecond: 100}}
	tests := []struct {
		name   string
		modify func(*Request)
		want   map[string]string
	}{
		{"ok", func(*Request) {}, nil},
		{"negative volumes", func(r *Request) { r.InputTokensPerDay, r.OutputTokensPerDay = -1, math.NaN() },
			map[string]string{"input_tokens_per_day": "0 or more", "output_tokens_per_day": "0 or more"}},
		{"zero volume", func(r *Request) { r.InputTokensPerDay, r.OutputTokensPerDay = 0, 0 },
			map[string]string{"output_tokens_per_day": "the volume is zero"}},
		{"free API", func(r *Request) { r.API = APIPrice{} }, map[string]string{"api.output_usd_per_million": "list prices"}},
		{"negative price", func(r *Request) { r.API.InputUSDPerMillion = -2 }, map[string]string{"api.input_usd_per_million": "0 or more"}},
		{"no self-host price", func(r *Request) { r.SelfHost.HourlyUSD = nil }, map[string]string{"self_host.hourly_usd": "or monthly_opex_usd"}},
		{"both prices", func(r *Request) { r.SelfHost.MonthlyOpexUSD = new(100.0) }, map[string]string{"self_host.monthly_opex_usd": "not both"}},
		{"zero hourly", func(r *Request) { r.SelfHost.HourlyUSD = new(0.0) }, map[string]string{"self_host.hourly_usd": "greater than 0"}},
		{"zero opex", func(r *Request) { r.SelfHost.HourlyUSD, r.SelfHost.MonthlyOpexUSD = nil, new(0.0) }, map[string]string{"self_host.monthly_opex_usd": "greater than 0"}},
		{"zero nodes", func(r *Request) { r.SelfHost.Nodes = new(int64(0)) }, map[string]string{"self_host.nodes": "at least 1"}},
		{"zero throughput", func(r *Request) { r.SelfHost.TokensPerSecond = 0 }, map[string]string{"self_host.tokens_per_second": "greater than 0"}},
		{"zero upfront is nothing up front", func(r *Request) { r.SelfHost.UpfrontUSD = new(0.0) }, nil},
		{"negative upfront", func(r *Request) { r.SelfHost.UpfrontUSD = new(-1.0) }, map[string]string{"self_host.upfront_usd": "0 or more"}},
		{"infinite throughput", func(r *Request) { r.SelfHost.TokensPerSecond = math.Inf(1) }, map[string]string{"self_host.tokens_per_second": "greater than 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok
			tt.modify(&r)
			ps := r.Validate()
			got := map[string]string{}
			for _, p := range ps {
				got[p.Attribute] = p.Detail
			}
			if len(got) != len(tt.want) {
				t.Errorf("problems %v, want %v", ps, tt.want)
			}
			for attr, part := range tt.want {
				if !strings.Contains(got[attr], part) {
					t.Errorf("%s: %q lacks %q", attr, got[attr], part)
				}
			}
			_, err := Compute(r)
			var cps errs.List
			if (len(tt.want) > 0) != errors.As(err, &cps) {
				t.Errorf("Compute error %v", err)
			}
		})
	}
}
