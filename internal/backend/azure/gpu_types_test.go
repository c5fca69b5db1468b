package azure

import (
	"testing"
)

func TestLookupGPU(t *testing.T) {
	t.Parallel()
	cases := []struct {
		size     string
		model    string
		memMiB   int64
		fraction float64
	}{
		{"Standard_NC24ads_A100_v4", "A100 80GB", 81920, 0},
		{"Standard_NC40ads_H100_v5", "H100 NVL", 96256, 0},
		{"Standard_NC80adis_H100_v5", "H100 NVL", 96256, 0},
		{"Standard_ND96isr_H100_v5", "H100", 81920, 0},
		{"Standard_ND96isr_H200_v5", "H200", 144384, 0},
		{"Standard_ND96asr_v4", "A100 40GB", 40960, 0},
		{"Standard_ND96amsr_A100_v4", "A100 80GB", 81920, 0},
		{"Standard_NV6ads_A10_v5", "A10", 24576, 1.0 / 6},
		{"Standard_NV36ads_A10_v5", "A10", 24576, 0},
		{"Standard_NC4as_T4_v3", "T4", 16384, 0},
		{"Standard_NC6s_v3", "V100 16GB", 16384, 0},
	}
	for _, c := range cases {
		g, ok := lookupGPU(c.size)
		if !ok || g.model != c.model || g.memoryMiB != c.memMiB || g.fraction != c.fraction {
			t.Errorf("lookupGPU(%s) = %+v, %v; want %s %d MiB fraction %v", c.size, g, ok, c.model, c.memMiB, c.fraction)
		}
	}
	if _, ok := lookupGPU("Standard_D4s_v5"); ok {
		t.Error("Standard_D4s_v5 has no GPU but matched")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg     Config
		wantErr bool
	}{
		"empty":               {Config{}, false},
		"bad environment":     {Config{Environment: "mars"}, true},
		"oidc needs ids":      {Config{UseOIDC: true}, true},
		"oidc ok":             {Config{UseOIDC: true, TenantID: "t", ClientID: "c"}, false},
		"secret needs tenant": {Config{ClientSecret: "s", ClientID: "c"}, true},
	}
	for name, c := range cases {
		if err := c.cfg.Validate(); (err != nil) != c.wantErr {
			t.Errorf("%s: Validate() = %v, wantErr %v", name, err, c.wantErr)
		}
	}
}

func TestApplicationIDFits(t *testing.T) {
	t.Parallel()
	if id := applicationID("terraform-provider-inferstack/0.1.0-dev+abcdef0123456789"); len(id) > 24 {
		t.Errorf("applicationID is %d characters, azcore allows 24", len(id))
	}
}
