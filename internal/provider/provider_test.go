package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The environment fallbacks are what Terraform Cloud workspaces rely on; these tests set
// environment variables, so they do not run in parallel.

func TestExpandHuggingFaceEnv(t *testing.T) {
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
	t.Setenv("HF_ENDPOINT", "https://hub.mirror.internal/")
	var d diag.Diagnostics
	s := expandHuggingFace(nil, &d)
	if d.HasError() || s.Token != "hf_legacy" || s.Endpoint != "https://hub.mirror.internal" {
		t.Fatalf("got %+v %v", s, d)
	}
	s = expandHuggingFace(&huggingFaceModel{Token: types.StringValue("hf_cfg"), Endpoint: types.StringNull()}, &d)
	if s.Token != "hf_cfg" {
		t.Errorf("configured token lost to the environment: %+v", s)
	}
	t.Setenv("HF_ENDPOINT", "")
	if s := expandHuggingFace(nil, &d); s.Endpoint != "https://huggingface.co" {
		t.Errorf("default endpoint = %q", s.Endpoint)
	}
}

func TestExpandGatewayEnvAndBadURL(t *testing.T) {
	t.Setenv("LITELLM_URL", "http://litellm:4000/")
	t.Setenv("LITELLM_MASTER_KEY", "sk-master")
	var d diag.Diagnostics
	s := expandGateway(nil, &d)
	if d.HasError() || s.URL != "http://litellm:4000" || s.MasterKey != "sk-master" {
		t.Fatalf("got %+v %v", s, d)
	}
	t.Setenv("LITELLM_URL", "litellm:4000")
	d = nil
	expandGateway(nil, &d)
	if !d.HasError() || !strings.Contains(d.Errors()[0].Detail(), "gateway.url (or LITELLM_URL)") {
		t.Fatalf("a URL without a scheme was accepted or the error does not name the attribute: %v", d)
	}
	if strings.Contains(d.Errors()[0].Detail(), "sk-master") {
		t.Fatal("the master key leaked into a diagnostic")
	}
}

func TestExpandAzureTerraformCloudOIDC(t *testing.T) {
	t.Setenv("ARM_SUBSCRIPTION_ID", "sub")
	t.Setenv("ARM_TENANT_ID", "tenant")
	t.Setenv("ARM_CLIENT_ID", "client")
	t.Setenv("ARM_USE_OIDC", "true")
	t.Setenv("ARM_OIDC_TOKEN", "")
	t.Setenv("TFC_WORKLOAD_IDENTITY_TOKEN", "jwt-from-tfc")
	var d diag.Diagnostics
	c := expandAzure(nil, "ua", &d)
	if d.HasError() || !c.UseOIDC || c.OIDCToken != "jwt-from-tfc" || c.SubscriptionID != "sub" || c.TenantID != "tenant" {
		t.Fatalf("got %+v %v", c, d)
	}
	t.Setenv("ARM_USE_OIDC", "yes please")
	d = nil
	expandAzure(nil, "ua", &d)
	if !d.HasError() {
		t.Fatal("ARM_USE_OIDC that is not a bool was accepted")
	}
}

func TestExpandAWSValidation(t *testing.T) {
	var d diag.Diagnostics
	m := &awsModel{
		AccessKey: types.StringValue("AKIA"),
		Endpoints: types.MapValueMust(types.StringType, map[string]attr.Value{"ec3": types.StringValue("http://x")}),
	}
	expandAWS(context.Background(), m, "ua", &d)
	var msgs []string
	for _, e := range d.Errors() {
		msgs = append(msgs, e.Detail())
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "aws.access_key and aws.secret_key") || !strings.Contains(all, `"ec3"`) {
		t.Fatalf("diagnostics = %s", all)
	}
}
