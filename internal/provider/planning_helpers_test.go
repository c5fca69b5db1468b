package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
)

// The Hugging Face Hub stand-in is started once per test binary, on first use, and shared by
// every test: it is an in-process httptest server, so it needs no stopping before the process
// exits. Tests that inject faults (FailNext affects the next requests on any path) start one of
// their own instead, so they cannot disturb, or be disturbed by, tests running beside them.
var (
	hubOnce sync.Once
	hub     *hfhub.Server
)

func sharedHub() *hfhub.Server {
	hubOnce.Do(func() { hub = hfhub.Start() })
	return hub
}

// huggingFaceBlock points the provider at a Hub. The token is always set, "" meaning none, so
// an HF_TOKEN in the environment of whoever runs the tests cannot change what they see.
func huggingFaceBlock(endpoint, token string) string {
	return fmt.Sprintf("  huggingface {\n    endpoint = %q\n    token    = %q\n  }\n", endpoint, token)
}

// hubProviderConfig is a provider block with only the huggingface block, for the shared Hub.
func hubProviderConfig(token string) string {
	return hubProviderConfigAt(sharedHub().URL, token)
}

func hubProviderConfigAt(endpoint, token string) string {
	return "provider \"inferstack\" {\n" + huggingFaceBlock(endpoint, token) + "}\n"
}

// hubAWSProviderConfig is one provider block with both the huggingface block (the shared Hub)
// and the AWS lab's aws block, for plans whose candidates come from moto's catalog.
func hubAWSProviderConfig(t *testing.T, token string) string {
	t.Helper()
	const open = "provider \"inferstack\" {\n"
	cfg := acctest.AWS(t).ProviderConfig()
	if !strings.Contains(cfg, open) {
		t.Fatalf("the AWS lab's provider block has changed shape; cannot add a huggingface block to:\n%s", cfg)
	}
	return strings.Replace(cfg, open, open+huggingFaceBlock(sharedHub().URL, token), 1)
}

// errorLike matches a phrase in CLI output, where the CLI may wrap a long message at any space
// and prefix the next line with "│ ".
func errorLike(phrase string) *regexp.Regexp {
	words := strings.Fields(phrase)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(words, `[\s│]+`))
}

// errorsLike matches phrases that appear in this order.
func errorsLike(phrases ...string) *regexp.Regexp {
	parts := make([]string, len(phrases))
	for i, p := range phrases {
		parts[i] = strings.TrimPrefix(errorLike(p).String(), "(?s)")
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}
