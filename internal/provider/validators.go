package provider

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/inferstack/terraform-provider-inferstack/internal/hf"
)

// Validators shared by the planning data sources. They run at plan time, before any request,
// and skip null and unknown values (a later read checks what they could not see).

// hfModelID checks that a string is a Hugging Face Hub model id ("owner/name"), with the rules
// and the message of hf.ValidateID.
func hfModelID() validator.String { return hfModelIDValidator{} }

type hfModelIDValidator struct{}

func (hfModelIDValidator) Description(context.Context) string {
	return `must be a Hugging Face Hub model id, "owner/name"`
}

func (v hfModelIDValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (hfModelIDValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := hf.ValidateID(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid model id", err.Error())
	}
}

// hfRevision checks that a string can name a branch, tag or commit (hf.ValidateRevision).
func hfRevision() validator.String { return hfRevisionValidator{} }

type hfRevisionValidator struct{}

func (hfRevisionValidator) Description(context.Context) string {
	return "must be a branch, tag or commit sha without white space"
}

func (v hfRevisionValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (hfRevisionValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := hf.ValidateRevision(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid revision", err.Error())
	}
}

// float64Above checks that a number is strictly greater than floor (float64validator.AtLeast is
// inclusive), and at most ceiling when ceiling is not NaN. hint ends the message with the fix.
func float64Above(floor, ceiling float64, hint string) validator.Float64 {
	return float64RangeValidator{floor: floor, ceiling: ceiling, hint: hint}
}

// float64AtLeast checks that a number is floor or more. Unlike float64validator.AtLeast its
// message prints numbers as written (0, not 0.000000).
func float64AtLeast(floor float64, hint string) validator.Float64 {
	return float64RangeValidator{floor: floor, ceiling: math.NaN(), inclusive: true, hint: hint}
}

type float64RangeValidator struct {
	floor, ceiling float64
	inclusive      bool // floor itself is allowed
	hint           string
}

func (v float64RangeValidator) Description(context.Context) string {
	d := "value must be greater than " + fmtNum(v.floor)
	if v.inclusive {
		d = "value must be at least " + fmtNum(v.floor)
	}
	if !math.IsNaN(v.ceiling) {
		d += " and at most " + fmtNum(v.ceiling)
	}
	return d
}

func (v float64RangeValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v float64RangeValidator) ValidateFloat64(ctx context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	f := req.ConfigValue.ValueFloat64()
	above := f > v.floor || (v.inclusive && f == v.floor)
	if above && (math.IsNaN(v.ceiling) || f <= v.ceiling) && !math.IsInf(f, 0) {
		return
	}
	detail := fmt.Sprintf("Attribute %s %s, got: %s.", req.Path, v.Description(ctx), fmtNum(f))
	if v.hint != "" {
		detail += " " + v.hint
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value", detail)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
