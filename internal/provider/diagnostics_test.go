package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/inferstack/terraform-provider-inferstack/internal/cost"
	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
	"github.com/inferstack/terraform-provider-inferstack/internal/sizing"
)

func TestAttributePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		steps []any
		want  path.Path
	}{
		{[]any{sizing.AttrMaxModelLen}, path.Root("max_model_len")},
		{[]any{sizing.AttrGPUs, 2, sizing.AttrGPUMemoryGiB}, path.Root("gpus").AtListIndex(2).AtName("memory_gib")},
		{[]any{cost.AttrSelfHost, cost.AttrTokensPerSecond}, path.Root("self_host").AtName("tokens_per_second")},
	}
	for _, tt := range tests {
		if got := attributePath(tt.steps); !got.Equal(tt.want) {
			t.Errorf("attributePath(%v) = %s, want %s", tt.steps, got, tt.want)
		}
	}
}

// Domain problems land on the attribute they name; nested ones also name it in the detail,
// since the CLIs show only the top-level attribute's line.
func TestAddProblems(t *testing.T) {
	t.Parallel()
	_, err := sizing.Compute(sizing.Request{
		Model:       sizing.ModelShape{ID: "m", Parameters: 1, NumHiddenLayers: 1, NumAttentionHeads: 1, NumKeyValueHeads: 1, HeadDim: 1, MaxPositionEmbeddings: 4096},
		MaxModelLen: new(int64(8192)),
		GPUs:        []sizing.HostGPUs{{Model: "L4", Count: 1}, {Model: "MI300X", Count: 8}},
	})
	var ps sizing.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want sizing.Problems, got %v", err)
	}
	var d diag.Diagnostics
	addPathProblems(&d, ps, "planning deployment (m)")
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
	addCostError(&d, err)
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
		if got != tt.want || e.Summary() != "resolving Hugging Face model (a b at main)" {
			t.Errorf("%v: path %q summary %q, want path %q", tt.err, got, e.Summary(), tt.want)
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
