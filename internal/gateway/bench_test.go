package gateway

import "testing"

// BenchmarkRenderConfig renders a LiteLLM config for a hybrid set of routes (a self-hosted
// route and three closed-API routes).
func BenchmarkRenderConfig(b *testing.B) {
	routes := []Route{selfHostedRoute(), externalRoute(ProviderOpenAI), externalRoute(ProviderAnthropic), externalRoute(ProviderBedrock)}
	for i := range routes {
		routes[i].ID = routes[i].ID + string(rune('a'+i))
		routes[i].ModelName = routes[i].ModelName + string(rune('a'+i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderConfig(routes, RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
