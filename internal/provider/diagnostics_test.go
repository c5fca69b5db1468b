package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/cost"
	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
	"github.com/inferstack/terraform-provider-inferstack/internal/sizing"
)

func TestProblemPath(t *testing.T) {
	t.Parallel()
	onprem, route := path.Root("onprem"), path.Root("routes").AtListIndex(1)
	tests := []struct {
		root      path.Path
		attribute string
		want      path.Path
		shown     string
	}{
		{path.Empty(), "", path.Empty(), ""},
		{path.Empty(), "max_model_len", path.Root("max_model_len"), "max_model_len"},
		{path.Empty(), "gpus[2].memory_gib", path.Root("gpus").AtListIndex(2).AtName("memory_gib"), "gpus[2].memory_gib"},
		{path.Empty(), `targets[0].labels["k"]`, path.Root("targets").AtListIndex(0).AtName("labels").AtMapKey("k"), `targets[0].labels["k"]`},
		{onprem, "", onprem, "onprem"},
		{onprem, "hosts[1].name", onprem.AtName("hosts").AtListIndex(1).AtName("name"), "onprem.hosts[1].name"},
		// A backend's problem with the resource's own name or cluster_id.
		{onprem, "name", path.Root("name"), "name"},
		{path.Root("aws"), "cluster_id", path.Root("cluster_id"), "cluster_id"},
		// A route's name is its own.
		{route, "name", route.AtName("name"), "routes[1].name"},
		{route, "self_hosted.urls[0]", route.AtName("self_hosted").AtName("urls").AtListIndex(0), "routes[1].self_hosted.urls[0]"},
	}
	for _, tt := range tests {
		got, shown := problemPath(tt.root, tt.attribute)
		if !got.Equal(tt.want) || shown != tt.shown {
			t.Errorf("problemPath(%s, %q) = %s, %q; want %s, %q", tt.root, tt.attribute, got, shown, tt.want, tt.shown)
		}
	}
}

// Each problem lands on its attribute; the detail names it unless it is a top-level attribute
// checked at the top, whose line the CLIs show.
func TestAddProblems(t *testing.T) {
	t.Parallel()
	problems := func(ps ...*errs.Problem) error { return errs.List(ps) }
	type want struct{ path, summary, detail string } // path "" for no attribute
	tests := []struct {
		name string
		root path.Path
		err  error
		want []want
	}{
		{"data source", path.Empty(), problems(
			&errs.Problem{Attribute: "max_model_len", Detail: "max_model_len 8192 is above"},
			&errs.Problem{Attribute: "gpus[1].memory_gib", Detail: "set it"},
			&errs.Problem{Detail: "the whole"}),
			[]want{{"max_model_len", "s", "max_model_len 8192 is above"}, {"gpus[1].memory_gib", "s", "gpus[1].memory_gib: set it"}, {"", "s", "the whole"}}},
		{"backend", path.Root("onprem"), fmt.Errorf("preflight: %w", problems(
			&errs.Problem{Attribute: "hosts[0].host_key", Detail: "mismatch"},
			&errs.Problem{Attribute: "name", Detail: "bad name"},
			&errs.Problem{Detail: "the block"})),
			[]want{{"onprem.hosts[0].host_key", "s", "onprem.hosts[0].host_key: mismatch"}, {"name", "s", "name: bad name"}, {"onprem", "s", "onprem: the block"}}},
		{"own summaries", path.Root("routes").AtListIndex(0), problems(
			&errs.Problem{Attribute: "id", Summary: "invalid route id", Detail: "d"},
			&errs.Problem{Summary: "missing target", Detail: "t"}),
			[]want{{"routes[0].id", "invalid route id", "routes[0].id: d"}, {"routes[0]", "missing target", "routes[0]: t"}}},
		{"not a problem", path.Root("aws"), errors.New("throttled"), []want{{"", "s", "throttled"}}},
		{"hf", path.Empty(), hf.ValidateRevision(""), []want{{"revision", "s", `invalid revision "": it is empty`}}},
	}
	for _, tt := range tests {
		var d diag.Diagnostics
		addProblems(&d, tt.root, "s", tt.err)
		var got []want
		for _, e := range d.Errors() {
			w := want{summary: e.Summary(), detail: e.Detail()}
			if wp, ok := e.(diag.DiagnosticWithPath); ok {
				w.path = wp.Path().String()
			}
			got = append(got, w)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i, w := range tt.want {
			if got[i].path != w.path || got[i].summary != w.summary || !strings.HasPrefix(got[i].detail, w.detail) {
				t.Errorf("%s: got %+v, want %+v", tt.name, got[i], w)
			}
		}
	}
	var d diag.Diagnostics
	addProblems(&d, path.Empty(), "s", nil)
	if d.HasError() {
		t.Errorf("no error made diagnostics: %v", d)
	}
}

// The domain packages' own errors reach addProblems as they are.
func TestAddProblemsFromDomainPackages(t *testing.T) {
	t.Parallel()
	_, err := sizing.Compute(sizing.Request{
		Model:       sizing.ModelShape{ID: "m", Parameters: 1, NumHiddenLayers: 1, NumAttentionHeads: 1, NumKeyValueHeads: 1, HeadDim: 1, MaxPositionEmbeddings: 4096},
		MaxModelLen: new(int64(8192)),
		GPUs:        []sizing.HostGPUs{{Model: "L4", Count: 1}, {Model: "MI300X", Count: 8}},
	})
	var d diag.Diagnostics
	addProblems(&d, path.Empty(), "planning deployment (m)", err)
	want := map[string]string{"max_model_len": "max_model_len 8192 is above", "gpus[1].memory_gib": "gpus[1].memory_gib: GPU model \"MI300X\""}
	if d.ErrorsCount() != len(want) {
		t.Fatalf("got %d errors, want %d: %v", d.ErrorsCount(), len(want), d)
	}
	for _, e := range d.Errors() {
		p := e.(diag.DiagnosticWithPath).Path().String()
		if !strings.HasPrefix(e.Detail(), want[p]) || want[p] == "" {
			t.Errorf("%s: detail %q, want it to start with %q", p, e.Detail(), want[p])
		}
	}

	_, err = cost.Compute(cost.Request{InputTokensPerDay: 1, OutputTokensPerDay: 1, API: cost.APIPrice{InputUSDPerMillion: 1}})
	d = nil
	addProblems(&d, path.Empty(), hostingCostSummary, err)
	got := map[string]bool{}
	for _, e := range d.Errors() {
		got[e.(diag.DiagnosticWithPath).Path().String()] = true
	}
	for _, p := range []string{"self_host.hourly_usd", "self_host.tokens_per_second"} {
		if !got[p] {
			t.Errorf("no error on %s among %v", p, got)
		}
	}
}

// A missing key suggests the write-only twin where the schema has one.
func TestAddRouteProblems(t *testing.T) {
	t.Parallel()
	r := gateway.Route{ID: "r", ModelName: "chat", External: &gateway.External{Provider: gateway.ProviderOpenAI, Model: "gpt-4o"}}
	for _, writeOnly := range []bool{true, false} {
		var d diag.Diagnostics
		ps := r.Validate()
		addRouteProblems(&d, path.Empty(), ps, writeOnly)
		if d.ErrorsCount() != 1 {
			t.Fatalf("got %v, want one error", d)
		}
		e := d.Errors()[0]
		if e.Summary() != "missing api_key" || !strings.HasPrefix(e.Detail(), "external.api_key: Set the OpenAI API key") ||
			strings.Contains(e.Detail(), "api_key_wo") != writeOnly || strings.Contains(ps[0].Detail, "api_key_wo") {
			t.Errorf("writeOnly %t: %q: %q (problem left %q)", writeOnly, e.Summary(), e.Detail(), ps[0].Detail)
		}
	}
	var d diag.Diagnostics
	addRouteProblems(&d, path.Empty(), nil, true)
	if d.HasError() {
		t.Errorf("no problems made diagnostics: %v", d)
	}
}

func TestAddHFError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string // "" for no attribute
	}{
		{hf.ValidateID("a b"), "model"},
		{hf.ValidateRevision(""), "revision"},
		{&hf.Error{Kind: hf.ErrUnauthorized, Message: "the Hugging Face Hub rejected the token"}, ""},
		{errors.New("resolving: context canceled"), ""},
	}
	for _, tt := range tests {
		var d diag.Diagnostics
		addHFError(&d, tt.err, "model", "a b", "main")
		e := d.Errors()[0]
		var got string
		if wp, ok := e.(diag.DiagnosticWithPath); ok {
			got = wp.Path().String()
		}
		if got != tt.want || e.Summary() != "resolving Hugging Face model (a b at main)" || e.Detail() != tt.err.Error() {
			t.Errorf("%v: path %q summary %q detail %q, want path %q", tt.err, got, e.Summary(), e.Detail(), tt.want)
		}
	}
}

func TestFloat64RangeValidator(t *testing.T) {
	t.Parallel()
	utilisation := float64Above(0, 1, "")
	atLeastZero := float64AtLeast(0, "")
	tests := []struct {
		v    validator.Float64
		in   types.Float64
		fail bool
	}{
		{utilisation, types.Float64Value(0.92), false},
		{utilisation, types.Float64Value(1), false},
		{utilisation, types.Float64Value(0), true},
		{utilisation, types.Float64Value(1.5), true},
		{utilisation, types.Float64Value(-0.1), true},
		{utilisation, types.Float64Null(), false},
		{utilisation, types.Float64Unknown(), false},
		{atLeastZero, types.Float64Value(0), false},
		{atLeastZero, types.Float64Value(-1), true},
	}
	for _, tt := range tests {
		resp := &validator.Float64Response{}
		tt.v.ValidateFloat64(context.Background(), validator.Float64Request{Path: path.Root("x"), ConfigValue: tt.in}, resp)
		if resp.Diagnostics.HasError() != tt.fail {
			t.Errorf("%s on %s: error %v, want %v (%v)", tt.v.Description(context.Background()), tt.in, resp.Diagnostics.HasError(), tt.fail, resp.Diagnostics)
		}
	}
}

func TestProviderDataSharesOneHFClient(t *testing.T) {
	t.Parallel()
	d := &providerData{HuggingFace: huggingFaceSettings{Endpoint: "http://127.0.0.1:9"}, UserAgent: "ua"}
	a, err := d.HF()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.HF()
	if a != b || a.Endpoint() != "http://127.0.0.1:9" {
		t.Fatalf("HF() built two clients (%p, %p) or ignored the endpoint (%s)", a, b, a.Endpoint())
	}
}
