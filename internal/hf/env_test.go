package hf

import (
	"os"
	"path/filepath"
	"testing"
)

// Not parallel: t.Setenv changes the process environment.
func TestEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{EnvToken, EnvTokenLegacy, EnvTokenPath, EnvEndpoint} {
		t.Setenv(k, "")
	}
	t.Setenv(EnvHome, dir)

	if got := EndpointFromEnv(); got != DefaultEndpoint {
		t.Errorf("EndpointFromEnv() = %q, want the default", got)
	}
	t.Setenv(EnvEndpoint, "https://hf-mirror.example.com/ ")
	if got := EndpointFromEnv(); got != "https://hf-mirror.example.com" {
		t.Errorf("EndpointFromEnv() = %q", got)
	}

	if got := TokenFromEnv(); got != "" {
		t.Errorf("TokenFromEnv() = %q, want none", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("hf_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := TokenFromEnv(); got != "hf_file" {
		t.Errorf("TokenFromEnv() = %q, want the token file's", got)
	}
	t.Setenv(EnvTokenLegacy, "hf_legacy")
	if got := TokenFromEnv(); got != "hf_legacy" {
		t.Errorf("TokenFromEnv() = %q, want HUGGING_FACE_HUB_TOKEN", got)
	}
	t.Setenv(EnvToken, "hf_env")
	if got := TokenFromEnv(); got != "hf_env" {
		t.Errorf("TokenFromEnv() = %q, want HF_TOKEN", got)
	}
}
