package gateway_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway/litellm"
)

const masterKey = "sk-tf-acc-test"

func setup(t *testing.T) (*standin.Server, *litellm.Client) {
	t.Helper()
	s := standin.Start(masterKey)
	t.Cleanup(s.Close)
	c, err := litellm.New(litellm.Config{URL: s.URL, MasterKey: masterKey, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func gpt4o() gateway.Route {
	return gateway.Route{ID: "tf-acc-test-gpt4o", ModelName: "gpt-4o",
		External: &gateway.External{Provider: gateway.ProviderOpenAI, Model: "gpt-4o", APIKey: "sk-openai"}}
}

func chat(bases ...string) gateway.Route {
	return gateway.Route{ID: "tf-acc-test-chat", ModelName: "chat-default",
		SelfHosted: &gateway.SelfHosted{APIBases: bases, ServedModel: "meta-llama/Llama-3.1-8B-Instruct", APIKey: "vllm-key"},
		Weight:     1, RPM: 600, Timeout: 10 * time.Minute, Fallbacks: []string{"gpt-4o"}}
}

// asRead is r as ReadRoute gives it back: no secrets, the default mode filled in.
func asRead(r gateway.Route) gateway.Route {
	if r.Mode == "" {
		r.Mode = gateway.DefaultMode
	}
	if r.SelfHosted != nil {
		s := *r.SelfHosted
		s.APIKey = ""
		r.SelfHosted = &s
	}
	if r.External != nil {
		e := *r.External
		e.APIKey, e.AWSAccessKeyID, e.AWSSecretAccessKey, e.AWSSessionToken = "", "", "", ""
		r.External = &e
	}
	return r
}

func ids(s *standin.Server) []string {
	var out []string
	for _, d := range s.Deployments() {
		out = append(out, d.ID)
	}
	return out
}

func TestRouteLifecycle(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := context.Background()

	if err := gateway.CreateRoute(ctx, c, gpt4o()); err != nil {
		t.Fatal(err)
	}
	r := chat("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1")
	if err := gateway.CreateRoute(ctx, c, r); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(s), []string{"tf-acc-test-chat", "tf-acc-test-chat~1", "tf-acc-test-gpt4o"}; !slices.Equal(got, want) {
		t.Errorf("deployments %v, want %v", got, want)
	}
	if got := s.Fallbacks("chat-default"); !slices.Equal(got, []string{"gpt-4o"}) {
		t.Errorf("fallbacks %v", got)
	}
	got, err := gateway.ReadRoute(ctx, c, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := asRead(r); !reflect.DeepEqual(*got, want) {
		t.Errorf("ReadRoute =\n%+v\nwant\n%+v", *got, want)
	}

	// Scale out to three replicas and change a limit.
	r3 := chat("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1", "http://10.0.0.3:8000/v1")
	r3.RPM = 900
	if err := gateway.UpdateRoute(ctx, c, r, r3); err != nil {
		t.Fatal(err)
	}
	got, err = gateway.ReadRoute(ctx, c, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := asRead(r3); !reflect.DeepEqual(*got, want) {
		t.Errorf("after scale-out =\n%+v\nwant\n%+v", *got, want)
	}

	// Drift: a replica deleted behind Terraform's back shows as a missing URL, and the update
	// that follows brings it back.
	s.DeleteDeployment("tf-acc-test-chat~1")
	got, err = gateway.ReadRoute(ctx, c, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://10.0.0.1:8000/v1", "http://10.0.0.3:8000/v1"}; !slices.Equal(got.SelfHosted.APIBases, want) {
		t.Errorf("after drift APIBases = %v, want %v", got.SelfHosted.APIBases, want)
	}
	refreshed := *got
	refreshed.SelfHosted.APIKey = "vllm-key" // state keeps the secret
	if err := gateway.UpdateRoute(ctx, c, refreshed, r3); err != nil {
		t.Fatal(err)
	}
	if got, err = gateway.ReadRoute(ctx, c, r.ID); err != nil || !reflect.DeepEqual(*got, asRead(r3)) {
		t.Errorf("after repair = %+v, %v", got, err)
	}

	// Scale in to one replica, rename the model (fallbacks follow the name), drop the fallbacks' owner's rpm.
	r1 := chat("http://10.0.0.9:8000/v1")
	r1.ModelName = "chat-v2"
	r1.RPM = 0
	if err := gateway.UpdateRoute(ctx, c, r3, r1); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(s), []string{"tf-acc-test-chat", "tf-acc-test-gpt4o"}; !slices.Equal(got, want) {
		t.Errorf("after scale-in deployments %v, want %v", got, want)
	}
	if s.Fallbacks("chat-default") != nil || !slices.Equal(s.Fallbacks("chat-v2"), []string{"gpt-4o"}) {
		t.Errorf("fallbacks did not follow the rename: old %v new %v", s.Fallbacks("chat-default"), s.Fallbacks("chat-v2"))
	}
	if got, err = gateway.ReadRoute(ctx, c, r.ID); err != nil || !reflect.DeepEqual(*got, asRead(r1)) {
		t.Errorf("after scale-in = %+v, %v; want %+v", got, err, asRead(r1))
	}

	// Switch the target to a closed API and drop the fallbacks.
	ext := gateway.Route{ID: r.ID, ModelName: "chat-v2", External: &gateway.External{Provider: gateway.ProviderAnthropic,
		Model: "claude-sonnet-4-5-20250929", APIKey: "sk-ant"}}
	if err := gateway.UpdateRoute(ctx, c, r1, ext); err != nil {
		t.Fatal(err)
	}
	if got, err = gateway.ReadRoute(ctx, c, r.ID); err != nil || !reflect.DeepEqual(*got, asRead(ext)) {
		t.Errorf("after switch = %+v, %v; want %+v", got, err, asRead(ext))
	}
	if st, _ := s.Deployment(r.ID); st.LiteLLMParams["api_key"] != "sk-ant" || st.LiteLLMParams["api_base"] != nil {
		t.Errorf("stored after switch: %v", st.LiteLLMParams)
	}
	if s.Fallbacks("chat-v2") != nil {
		t.Errorf("fallbacks left: %v", s.Fallbacks("chat-v2"))
	}

	// Delete: nothing of the route is left; deleting again is fine.
	for _, rt := range []gateway.Route{ext, gpt4o()} {
		if err := gateway.DeleteRoute(ctx, c, rt); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Deployments(); len(got) != 0 {
		t.Errorf("left behind: %+v", got)
	}
	if err := gateway.DeleteRoute(ctx, c, ext); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if _, err := gateway.ReadRoute(ctx, c, r.ID); !gateway.IsNotFound(err) {
		t.Errorf("ReadRoute after delete: %v", err)
	}
}

// TestDeleteRouteFindsOrphans: replicas the primary records beyond what state knows (an apply
// interrupted after scaling out) are removed too.
func TestDeleteRouteFindsOrphans(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := context.Background()
	if err := gateway.CreateRoute(ctx, c, gpt4o()); err != nil {
		t.Fatal(err)
	}
	r := chat("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1", "http://10.0.0.3:8000/v1")
	if err := gateway.CreateRoute(ctx, c, r); err != nil {
		t.Fatal(err)
	}
	state := chat("http://10.0.0.1:8000/v1")
	if err := gateway.DeleteRoute(ctx, c, state); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(s), []string{"tf-acc-test-gpt4o"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if s.Fallbacks("chat-default") != nil {
		t.Errorf("fallbacks left")
	}
}

// TestCreateRouteAfterPartialApply: a create that failed part way is completed by the next one.
func TestCreateRouteAfterPartialApply(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := context.Background()
	r := gateway.Route{ID: "tf-acc-test-partial", ModelName: "m", SelfHosted: &gateway.SelfHosted{
		APIBases: []string{"http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"}, ServedModel: "m", APIKey: "k"}}
	// An earlier apply created the first deployment and stopped.
	if err := c.Create(ctx, r.Deployments()[0]); err != nil {
		t.Fatal(err)
	}
	if err := gateway.CreateRoute(ctx, c, r); err != nil {
		t.Fatalf("CreateRoute over a partial route: %v", err)
	}
	if got, want := ids(s), []string{"tf-acc-test-partial", "tf-acc-test-partial~1"}; !slices.Equal(got, want) {
		t.Errorf("deployments %v, want %v", got, want)
	}
}

func TestWaitRoute(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	s.SetRouterLag(3)
	ctx := context.Background()
	r := gpt4o()
	if err := gateway.CreateRoute(ctx, c, r); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.ReadRoute(ctx, c, r.ID); !gateway.IsNotFound(err) {
		t.Fatalf("ReadRoute on a lagging router: %v, want not found", err)
	}
	got, err := gateway.WaitRoute(ctx, c, r.ID, time.Millisecond)
	if err != nil || got.ModelName != "gpt-4o" {
		t.Fatalf("WaitRoute = %+v, %v", got, err)
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := gateway.WaitRoute(short, c, "tf-acc-test-never", time.Millisecond); !gateway.IsNotFound(err) {
		t.Errorf("WaitRoute for a route that never comes: %v", err)
	}
}
