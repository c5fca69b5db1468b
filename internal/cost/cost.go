package cost

import (
	"fmt"
	"math"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

// Constants of the model.
const (
	HoursPerMonth = 730.0                // 8760 hours a year / 12
	DaysPerMonth  = HoursPerMonth / 24.0 // 30.4166...
	SecondsPerDay = 86400.0
	DefaultNodes  = 1
)

// Values of Estimate.Cheaper.
const (
	CheaperAPI      = "api"
	CheaperSelfHost = "self_host"
)

// Attribute names of the inferstack_hosting_cost data source, used in problems' attributes (errs.Problem).
const (
	AttrInputTokensPerDay   = "input_tokens_per_day"
	AttrOutputTokensPerDay  = "output_tokens_per_day"
	AttrAPI                 = "api"
	AttrInputUSDPerMillion  = "input_usd_per_million"
	AttrOutputUSDPerMillion = "output_usd_per_million"
	AttrSelfHost            = "self_host"
	AttrHourlyUSD           = "hourly_usd"
	AttrMonthlyOpexUSD      = "monthly_opex_usd"
	AttrNodes               = "nodes"
	AttrTokensPerSecond     = "tokens_per_second"
	AttrUpfrontUSD          = "upfront_usd"
)

// Request is a token volume and the two ways to serve it. Optional fields are pointers: nil
// means unset, and a value that is set is checked (0 is an error, not "unset").
type Request struct {
	InputTokensPerDay  float64 // prompt tokens a day
	OutputTokensPerDay float64 // generated tokens a day
	API                APIPrice
	SelfHost           SelfHost
}

// APIPrice is a closed API's list price.
type APIPrice struct {
	InputUSDPerMillion  float64
	OutputUSDPerMillion float64
}

// SelfHost describes self-hosted nodes. Set HourlyUSD for rented nodes or MonthlyOpexUSD for
// owned hardware (power, space, support), not both. All money is per node.
type SelfHost struct {
	HourlyUSD      *float64
	MonthlyOpexUSD *float64
	// Nodes is the number of nodes you run at least (nil means 1); more are priced when the
	// volume needs them.
	Nodes *int64
	// TokensPerSecond is the sustained output (generated) throughput of one node at the batch
	// sizes you serve; prompt tokens are assumed to be absorbed by it (prefill is much faster
	// than decoding: lower it for prompt-heavy traffic).
	TokensPerSecond float64
	// UpfrontUSD is one node's purchase price, for the payback period; nil or 0 when nothing is
	// paid up front (renting).
	UpfrontUSD *float64
}

// Estimate is the comparison. Money is rounded to cents, months to hundredths, the utilisation
// to four decimals, and the break-even volume up to a whole token.
type Estimate struct {
	Assumptions Assumptions

	MonthlyAPIUSD      float64
	MonthlySelfHostUSD float64 // Nodes x (hourly_usd x 730 or monthly_opex_usd)
	// MonthlySavingsUSD is MonthlyAPIUSD - MonthlySelfHostUSD: negative when the API is cheaper.
	MonthlySavingsUSD float64
	// Cheaper is CheaperAPI or CheaperSelfHost, by monthly running cost (ties go to the API);
	// the purchase price is weighed by PaybackMonths.
	Cheaper string

	// NodesNeeded is ceil(output tokens a day / one node's output tokens a day).
	NodesNeeded int64
	// Nodes is the node count priced: max(self_host.nodes, NodesNeeded).
	Nodes int64
	// CapacityUtilisation is the share of the priced nodes' throughput the volume needs.
	CapacityUtilisation float64

	// BreakevenTokensPerDay is the daily volume (input + output, in today's mix) above which
	// self-hosting on self_host.nodes costs less a month than the API; nil when it never does
	// (even a fully used node costs more than the API would charge for its tokens).
	BreakevenTokensPerDay *float64
	// UpfrontUSD is Nodes x self_host.upfront_usd (0 when renting).
	UpfrontUSD float64
	// PaybackMonths is UpfrontUSD / MonthlySavingsUSD: how long the purchase takes to pay for
	// itself; nil when there is no purchase price or self-hosting saves nothing.
	PaybackMonths *float64

	// APIUSDPerMillionOutput and SelfHostUSDPerMillionOutput are each side's whole monthly bill
	// per million output tokens of the month, at the volume given (for self-hosting: at
	// CapacityUtilisation of the priced nodes). Input tokens are part of the bill on both sides,
	// so the two compare like for like; self-hosting's falls as utilisation rises, the API's does
	// not. Rounded to four decimals; nil when there are no output tokens.
	APIUSDPerMillionOutput      *float64
	SelfHostUSDPerMillionOutput *float64
}

// Assumptions echo the inputs and the constants used.
type Assumptions struct {
	HoursPerMonth    float64
	DaysPerMonth     float64
	TokensPerDay     float64 // input + output
	OutputShare      float64 // output / (input + output)
	APIUSDPerMillion float64 // blended price of today's mix
	// NodeMonthlyUSD is one node's running cost a month.
	NodeMonthlyUSD float64
	// NodeOutputTokensPerDay is TokensPerSecond x 86400.
	NodeOutputTokensPerDay float64
	MinimumNodes           int64 // self_host.nodes
	Rented                 bool  // hourly_usd was given
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// Validate returns every problem with the request (nil when there is none). Compute calls it.
func (r Request) Validate() errs.List {
	var ps errs.List
	nonNegative := func(v float64, what string, path ...any) {
		if bad(v) || v < 0 {
			ps.Add(fmt.Sprintf("%s must be 0 or more, got %g", what, v), path...)
		}
	}
	positive := func(v float64, what string, path ...any) {
		if bad(v) || v <= 0 {
			ps.Add(fmt.Sprintf("%s must be greater than 0, got %g", what, v), path...)
		}
	}

	nonNegative(r.InputTokensPerDay, "input_tokens_per_day (prompt tokens a day)", AttrInputTokensPerDay)
	nonNegative(r.OutputTokensPerDay, "output_tokens_per_day (generated tokens a day)", AttrOutputTokensPerDay)
	if r.InputTokensPerDay == 0 && r.OutputTokensPerDay == 0 {
		ps.Add("the volume is zero: set input_tokens_per_day and output_tokens_per_day to the tokens you expect a day", AttrOutputTokensPerDay)
	}

	nonNegative(r.API.InputUSDPerMillion, "the API's input price (USD per million tokens)", AttrAPI, AttrInputUSDPerMillion)
	nonNegative(r.API.OutputUSDPerMillion, "the API's output price (USD per million tokens)", AttrAPI, AttrOutputUSDPerMillion)
	if r.API.InputUSDPerMillion == 0 && r.API.OutputUSDPerMillion == 0 {
		ps.Add("the API is free at these prices: set input_usd_per_million and output_usd_per_million to its list prices", AttrAPI, AttrOutputUSDPerMillion)
	}

	sh := r.SelfHost
	switch {
	case sh.HourlyUSD == nil && sh.MonthlyOpexUSD == nil:
		ps.Add("set hourly_usd (a rented node's price an hour) or monthly_opex_usd (an owned node's running cost a month)", AttrSelfHost, AttrHourlyUSD)
	case sh.HourlyUSD != nil && sh.MonthlyOpexUSD != nil:
		ps.Add("set hourly_usd for rented nodes or monthly_opex_usd for owned hardware, not both", AttrSelfHost, AttrMonthlyOpexUSD)
	case sh.HourlyUSD != nil:
		positive(*sh.HourlyUSD, "hourly_usd (one node's price an hour)", AttrSelfHost, AttrHourlyUSD)
	default:
		positive(*sh.MonthlyOpexUSD, "monthly_opex_usd (one owned node's power, space and support a month)", AttrSelfHost, AttrMonthlyOpexUSD)
	}
	if sh.Nodes != nil && *sh.Nodes < 1 {
		ps.Add(fmt.Sprintf("nodes must be at least 1, got %d", *sh.Nodes), AttrSelfHost, AttrNodes)
	}
	positive(sh.TokensPerSecond, "tokens_per_second (one node's sustained output throughput)", AttrSelfHost, AttrTokensPerSecond)
	if sh.UpfrontUSD != nil {
		// 0 is "nothing up front", the same as null: a rented node or hardware already paid for.
		nonNegative(*sh.UpfrontUSD, "upfront_usd (one node's purchase price; 0 or null when renting)", AttrSelfHost, AttrUpfrontUSD)
	}
	return ps
}

// Compute compares the API with self-hosting. Bad input returns an errs.List (errs.Problems lists
// it).
//
// With D = 730 / 24 days a month and today's mix of input and output tokens:
//
//	monthly_api_usd       = (input/day x input price + output/day x output price) / 1e6 x D
//	node capacity         = tokens_per_second x 86,400 output tokens a day
//	nodes                 = max(self_host.nodes, ceil(output/day / node capacity))
//	monthly_self_host_usd = nodes x (hourly_usd x 730, or monthly_opex_usd)
//	capacity_utilisation  = output/day / (nodes x node capacity)
//	breakeven/day         = self_host.nodes x node monthly cost / (blended price per token x D),
//	                        if node monthly cost <= blended price x D x node capacity / output share; else never
//	payback_months        = nodes x upfront_usd / (monthly_api_usd - monthly_self_host_usd), if both are > 0
//	usd per million output, each side = its monthly cost / (output/day x D) x 1e6, if output/day > 0
func Compute(r Request) (*Estimate, error) {
	if ps := r.Validate(); len(ps) > 0 {
		return nil, ps
	}
	sh := r.SelfHost
	minNodes := int64(DefaultNodes)
	if sh.Nodes != nil {
		minNodes = *sh.Nodes
	}
	nodeMonthly := 0.0
	if sh.HourlyUSD != nil {
		nodeMonthly = *sh.HourlyUSD * HoursPerMonth
	} else {
		nodeMonthly = *sh.MonthlyOpexUSD
	}
	in, out := r.InputTokensPerDay, r.OutputTokensPerDay
	total := in + out
	apiDaily := (in*r.API.InputUSDPerMillion + out*r.API.OutputUSDPerMillion) / 1e6
	perToken := apiDaily / total // blended USD per token
	capacity := sh.TokensPerSecond * SecondsPerDay

	e := &Estimate{Assumptions: Assumptions{
		HoursPerMonth: HoursPerMonth, DaysPerMonth: DaysPerMonth, TokensPerDay: total, OutputShare: out / total,
		APIUSDPerMillion: perToken * 1e6, NodeMonthlyUSD: nodeMonthly, NodeOutputTokensPerDay: capacity,
		MinimumNodes: minNodes, Rented: sh.HourlyUSD != nil,
	}}
	e.NodesNeeded = int64(math.Ceil(out / capacity))
	e.Nodes = max(minNodes, e.NodesNeeded)
	apiMonthly := apiDaily * DaysPerMonth
	selfMonthly := float64(e.Nodes) * nodeMonthly
	e.MonthlyAPIUSD, e.MonthlySelfHostUSD = cents(apiMonthly), cents(selfMonthly)
	e.MonthlySavingsUSD = cents(apiMonthly - selfMonthly)
	e.CapacityUtilisation = round(out/(float64(e.Nodes)*capacity), 4)
	e.Cheaper = CheaperAPI
	if selfMonthly < apiMonthly {
		e.Cheaper = CheaperSelfHost
	}

	// One node's full output capacity, in today's mix, as the API would bill it a month.
	nodeAtAPIPrices := math.Inf(1)
	if out > 0 {
		nodeAtAPIPrices = perToken * DaysPerMonth * capacity / (out / total)
	}
	if perToken > 0 && nodeMonthly <= nodeAtAPIPrices*(1+1e-12) {
		v := math.Ceil(float64(minNodes) * nodeMonthly / (perToken * DaysPerMonth) * (1 - 1e-12))
		e.BreakevenTokensPerDay = &v
	}

	if out > 0 {
		perMillion := func(monthly float64) *float64 {
			v := round(monthly/(out*DaysPerMonth)*1e6, 4)
			return &v
		}
		e.APIUSDPerMillionOutput, e.SelfHostUSDPerMillionOutput = perMillion(apiMonthly), perMillion(selfMonthly)
	}

	if sh.UpfrontUSD != nil && *sh.UpfrontUSD > 0 {
		e.UpfrontUSD = cents(float64(e.Nodes) * *sh.UpfrontUSD)
		if savings := apiMonthly - selfMonthly; savings > 0 {
			m := round(e.UpfrontUSD/savings, 2)
			e.PaybackMonths = &m
		}
	}
	return e, nil
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func cents(v float64) float64 { return round(v, 2) }
