package provider

import (
	"strings"
	"testing"
)

func TestGatewayClientNeedsURL(t *testing.T) {
	t.Parallel()
	d := &providerData{UserAgent: "ua", Gateway: gatewaySettings{MasterKey: "sk-master"}}
	_, err := d.GatewayClient()
	if err == nil || !strings.Contains(err.Error(), "gateway.url") || !strings.Contains(err.Error(), "LITELLM_URL") {
		t.Fatalf("GatewayClient without a URL: err = %v, want one naming gateway.url and LITELLM_URL", err)
	}
	if strings.Contains(err.Error(), "sk-master") {
		t.Fatal("the master key leaked into the error")
	}
}

func TestGatewayClientIsBuiltOnce(t *testing.T) {
	t.Parallel()
	// Port 9 (discard) is never called: building the client makes no network call.
	d := &providerData{UserAgent: "ua", Gateway: gatewaySettings{URL: "http://127.0.0.1:9", MasterKey: "sk-master"}}
	a, err := d.GatewayClient()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.GatewayClient()
	if a != b {
		t.Fatalf("GatewayClient built two clients (%p, %p)", a, b)
	}
}

func TestRouteIDs(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"chat-default":                     "chat-default",
		"meta-llama/Llama-3.1-8B-Instruct": "meta-llama-Llama-3.1-8B-Instruct",
		"  weird  name!!":                  "weird-name",
		"日本":                               "",
		strings.Repeat("a", 100):           strings.Repeat("a", 60),
	}
	for in, want := range tests {
		if got := routeSlug(in, 60); got != want {
			t.Errorf("routeSlug(%q) = %q, want %q", in, got, want)
		}
	}
	id, err := newRouteID("日本")
	if err != nil || !strings.HasPrefix(id, "route-") || len(id) != len("route-")+8 {
		t.Errorf("newRouteID of a name without usable characters = %q, %v", id, err)
	}
}
