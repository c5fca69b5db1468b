package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// configuredData takes the provider's data in a resource's or data source's Configure. It is nil
// before the provider is configured (during validation), which is not an error.
func configuredData(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("unexpected provider data", fmt.Sprintf("expected *providerData, got %T: this is a bug in the provider, please report it", v))
		return nil
	}
	return d
}
