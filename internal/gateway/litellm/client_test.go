package litellm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
	"github.com/inferstack/terraform-provider-inferstack/internal/gateway/litellm"
)

const masterKey = "sk-tf-acc-test-master"

// newClient builds a client for url with waits in milliseconds.
func newClient(t *testing.T, url string, mod func(*litellm.Config)) *litellm.Client {
	t.Helper()
	cfg := litellm.Config{URL: url, MasterKey: masterKey, UserAgent: "terraform-provider-inferstack/test",
		RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := litellm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func start(t *testing.T) *standin.Server {
	t.Helper()
	s := standin.Start(masterKey)
	t.Cleanup(s.Close)
	return s
}

func vllmDeployment(id string) gateway.Deployment {
	return gateway.Deployment{
		ID: id, ModelName: "tf-acc-test-chat", Model: "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
		APIBase: "http://10.0.0.12:8000/v1", APIKey: "vllm-secret-key", Weight: 1, RPM: 600, Timeout: 600 * time.Second,
		Tags: []string{"self-hosted"}, Mode: "chat", BaseModel: "meta-llama/Llama-3.1-8B-Instruct", RouteID: id, Replicas: 1,
	}
}

// withoutSecrets is d as a read gives it back.
func withoutSecrets(d gateway.Deployment) gateway.Deployment {
	d.APIKey, d.AWSAccessKeyID, d.AWSSecretAccessKey, d.AWSSessionToken = "", "", "", ""
	return d
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	for _, shape := range []struct {
		name  string
		shape standin.InfoShape
	}{{"list", standin.InfoShapeList}, {"object", standin.InfoShapeObject}} {
		t.Run(shape.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			s.SetInfoShape(shape.shape)
			c := newClient(t, s.URL, nil)
			ctx := context.Background()
			d := vllmDeployment("tf-acc-test-crud")

			if err := c.Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			stored, ok := s.Deployment(d.ID)
			if !ok {
				t.Fatal("the stand-in holds no deployment with our id")
			}
			if stored.LiteLLMParams["api_key"] != "vllm-secret-key" || stored.ModelInfo["id"] != d.ID || stored.ModelName != d.ModelName {
				t.Errorf("stored %+v", stored)
			}

			got, err := c.Read(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := withoutSecrets(d); !reflect.DeepEqual(*got, want) {
				t.Errorf("Read =\n%+v\nwant\n%+v", *got, want)
			}

			// A params change goes through /model/update only.
			upd := d
			upd.RPM, upd.APIBase = 1200, "http://10.0.0.14:8000/v1"
			if err := c.Update(ctx, withoutSecrets(d), upd); err != nil {
				t.Fatal(err)
			}
			if n := s.Requests("/model/update"); n != 1 {
				t.Errorf("/model/update requests = %d, want 1", n)
			}
			if n := s.Requests("/model/" + d.ID + "/update"); n != 0 {
				t.Errorf("PATCH requests = %d, want 0", n)
			}
			// A model_info change goes through PATCH only (/model/update does not persist it).
			upd2 := upd
			upd2.Mode, upd2.BaseModel = "completion", "meta-llama/Llama-3.1-8B"
			if err := c.Update(ctx, withoutSecrets(upd), withoutSecrets(upd2)); err != nil {
				t.Fatal(err)
			}
			if n := s.Requests("/model/" + d.ID + "/update"); n != 1 {
				t.Errorf("PATCH requests = %d, want 1", n)
			}
			if n := s.Requests("/model/update"); n != 1 {
				t.Errorf("/model/update requests = %d, want still 1", n)
			}
			got, err = c.Read(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := withoutSecrets(upd2); !reflect.DeepEqual(*got, want) {
				t.Errorf("Read after updates =\n%+v\nwant\n%+v", *got, want)
			}
			if st, _ := s.Deployment(d.ID); st.LiteLLMParams["api_key"] != "vllm-secret-key" {
				t.Errorf("the stored key changed: %v", st.LiteLLMParams["api_key"])
			}

			// Dropping keys re-creates the deployment under the same id: a merge cannot clear them.
			cleared := upd2
			cleared.RPM, cleared.Tags, cleared.Timeout = 0, nil, 0
			if err := c.Update(ctx, upd2, cleared); err != nil {
				t.Fatal(err)
			}
			st, _ := s.Deployment(d.ID)
			for _, k := range []string{"rpm", "tags", "timeout"} {
				if _, ok := st.LiteLLMParams[k]; ok {
					t.Errorf("%s is still stored after it was dropped: %v", k, st.LiteLLMParams)
				}
			}
			if st.LiteLLMParams["api_key"] != "vllm-secret-key" || s.Requests("/model/delete") != 1 || s.Requests("/model/new") != 2 {
				t.Errorf("re-create: stored %v, deletes %d, creates %d", st.LiteLLMParams, s.Requests("/model/delete"), s.Requests("/model/new"))
			}

			if err := c.Delete(ctx, d.ID); err != nil {
				t.Fatal(err)
			}
			if len(s.Deployments()) != 0 {
				t.Errorf("left behind: %+v", s.Deployments())
			}
			// LiteLLM answers 400 for an id that is gone: deleted is deleted.
			if err := c.Delete(ctx, d.ID); err != nil {
				t.Errorf("second delete: %v", err)
			}
			if _, err := c.Read(ctx, d.ID); !litellm.IsNotFound(err) {
				t.Errorf("Read after delete: %v, want not found", err)
			}
			if err := c.Update(ctx, withoutSecrets(cleared), cleared); !litellm.IsNotFound(err) {
				t.Errorf("Update after delete: %v, want not found", err)
			}
		})
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, nil)
	ctx := context.Background()
	d := vllmDeployment("tf-acc-test-idem")
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	d2 := d
	d2.RPM = 5
	if err := c.Create(ctx, d2); err != nil {
		t.Fatalf("second create of the same id: %v", err)
	}
	if n := len(s.Deployments()); n != 1 {
		t.Errorf("%d deployments, want 1", n)
	}
	if st, _ := s.Deployment(d.ID); st.LiteLLMParams["rpm"] != int64(5) {
		t.Errorf("rpm = %v, want 5", st.LiteLLMParams["rpm"])
	}
}

func TestDrift(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, nil)
	ctx := context.Background()
	d := vllmDeployment("tf-acc-test-drift")
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	s.ChangeDeployment(d.ID, func(st *standin.Stored) {
		st.LiteLLMParams["rpm"] = int64(1)
		st.LiteLLMParams["api_base"] = "http://10.9.9.9:8000/v1"
		st.LiteLLMParams["tags"] = []any{"changed"}
		st.ModelName = "renamed"
	})
	got, err := c.Read(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RPM != 1 || got.APIBase != "http://10.9.9.9:8000/v1" || !slices.Equal(got.Tags, []string{"changed"}) || got.ModelName != "renamed" {
		t.Errorf("drift not seen: %+v", got)
	}
	s.DeleteDeployment(d.ID)
	if _, err := c.Read(ctx, d.ID); !litellm.IsNotFound(err) || !gateway.IsNotFound(err) {
		t.Errorf("Read of a deployment deleted behind our back: %v, want not found", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		retryAfter string
		failures   int
		minElapsed time.Duration
		wantErr    error
		wantTries  int
	}{
		{name: "429 with Retry-After capped at the max wait", status: 429, retryAfter: "1", failures: 2, minElapsed: 40 * time.Millisecond, wantTries: 3},
		{name: "503 with Retry-After date", status: 503, retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), failures: 1, minElapsed: 20 * time.Millisecond, wantTries: 2},
		{name: "502 without Retry-After", status: 502, failures: 3, wantTries: 4},
		{name: "500", status: 500, failures: 1, wantTries: 2},
		{name: "429 until retries run out", status: 429, retryAfter: "0", failures: 10, wantErr: gateway.ErrUnavailable, wantTries: 4},
		{name: "501 is not retried", status: 501, failures: 1, wantErr: gateway.ErrUnavailable, wantTries: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			c := newClient(t, s.URL, nil)
			s.InjectFailures(standin.Failure{Path: "/model/new", Status: tc.status, RetryAfter: tc.retryAfter, Count: tc.failures})
			began := time.Now()
			err := c.Create(context.Background(), vllmDeployment("tf-acc-test-retry"))
			elapsed := time.Since(began)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Create: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Create: %v, want %v", err, tc.wantErr)
			}
			if n := s.Requests("/model/new"); n != tc.wantTries {
				t.Errorf("%d attempts, want %d", n, tc.wantTries)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("took %s, want at least %s (Retry-After honoured)", elapsed, tc.minElapsed)
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %s: Retry-After was not capped", elapsed)
			}
			var e *litellm.Error
			if tc.wantErr != nil && errors.As(err, &e) && (e.StatusCode != tc.status || e.Attempts != tc.wantTries) {
				t.Errorf("error status %d after %d attempts, want %d after %d: %v", e.StatusCode, e.Attempts, tc.status, tc.wantTries, err)
			}
		})
	}
}

func TestUnretriableServerErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(*standin.Server)
		path  string
		call  func(*litellm.Client) error
	}{
		{"no database: create", func(s *standin.Server) { s.SetDatabase(false) }, "/model/new",
			func(c *litellm.Client) error { return c.Create(context.Background(), vllmDeployment("x")) }},
		{"no database: delete", func(s *standin.Server) { s.SetDatabase(false) }, "/model/delete",
			func(c *litellm.Client) error { return c.Delete(context.Background(), "x") }},
		{"STORE_MODEL_IN_DB off: create", func(s *standin.Server) { s.SetStoreModelInDB(false) }, "/model/new",
			func(c *litellm.Client) error { return c.Create(context.Background(), vllmDeployment("x")) }},
		{"STORE_MODEL_IN_DB off: fallbacks", func(s *standin.Server) { s.SetStoreModelInDB(false) }, "/fallback",
			func(c *litellm.Client) error { return c.SetFallbacks(context.Background(), "m", []string{"n"}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			c := newClient(t, s.URL, nil)
			if tc.name == "STORE_MODEL_IN_DB off: fallbacks" {
				for _, n := range []string{"m", "n"} {
					s.AddConfigModel(standin.Stored{ID: n, ModelName: n, LiteLLMParams: map[string]any{"model": "openai/" + n}})
				}
			}
			tc.setup(s)
			err := tc.call(c)
			if !errors.Is(err, gateway.ErrNoDatabase) {
				t.Fatalf("err = %v, want ErrNoDatabase", err)
			}
			if !strings.Contains(err.Error(), "STORE_MODEL_IN_DB=True") {
				t.Errorf("the message does not say what to do: %v", err)
			}
			if n := s.Requests(tc.path); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.AddKey("sk-viewer-key", standin.RoleProxyAdminViewer)
	ctx := context.Background()

	good := newClient(t, s.URL, nil)
	if err := good.Create(ctx, vllmDeployment("tf-acc-test-auth")); err != nil {
		t.Fatal(err)
	}
	h := s.LastHeaders("/model/new")
	if h.Get("Authorization") != "Bearer "+masterKey || h.Get("User-Agent") != "terraform-provider-inferstack/test" {
		t.Errorf("headers: Authorization %q, User-Agent %q", h.Get("Authorization"), h.Get("User-Agent"))
	}

	cases := []struct {
		name, key string
		call      func(*litellm.Client) error
		want      error
		hint      string
	}{
		{"wrong key", "sk-wrong-key-123", func(c *litellm.Client) error { _, err := c.Read(ctx, "tf-acc-test-auth"); return err },
			gateway.ErrUnauthorized, "gateway.master_key (or LITELLM_MASTER_KEY)"},
		{"viewer key writes", "sk-viewer-key", func(c *litellm.Client) error { return c.Create(ctx, vllmDeployment("tf-acc-test-v")) },
			gateway.ErrForbidden, "proxy_admin role"},
		{"viewer key reads", "sk-viewer-key", func(c *litellm.Client) error { _, err := c.Read(ctx, "tf-acc-test-auth"); return err },
			nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, s.URL, func(cfg *litellm.Config) { cfg.MasterKey = tc.key })
			err := tc.call(c)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("message lacks %q: %v", tc.hint, err)
			}
			if strings.Contains(err.Error(), tc.key) || strings.Contains(err.Error(), "vllm-secret-key") {
				t.Errorf("message holds a secret: %v", err)
			}
		})
	}
}

func TestCABundle(t *testing.T) {
	t.Parallel()
	s := standin.StartTLS(masterKey)
	t.Cleanup(s.Close)
	ctx := context.Background()

	untrusted := newClient(t, s.URL, nil)
	_, err := untrusted.Read(ctx, "x")
	if !errors.Is(err, gateway.ErrUnavailable) || !strings.Contains(err.Error(), "gateway.ca_cert") {
		t.Errorf("without the CA: %v, want a certificate error naming gateway.ca_cert", err)
	}
	var e *litellm.Error
	if errors.As(err, &e) && e.Attempts != 1 {
		t.Errorf("a certificate error was retried: %d attempts", e.Attempts)
	}

	trusted := newClient(t, s.URL, func(c *litellm.Config) { c.CACertPEM = s.CACertPEM() })
	if err := trusted.Create(ctx, vllmDeployment("tf-acc-test-tls")); err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
	if _, err := trusted.Read(ctx, "tf-acc-test-tls"); err != nil {
		t.Fatal(err)
	}
}

func TestFallbacks(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, nil)
	ctx := context.Background()
	chat := vllmDeployment("tf-acc-test-fb-chat")
	gpt := gateway.Deployment{ID: "tf-acc-test-fb-gpt", ModelName: "gpt-4o", Model: "openai/gpt-4o", APIKey: "sk-openai", Mode: "chat"}
	for _, d := range []gateway.Deployment{chat, gpt} {
		if err := c.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if fb, err := c.Fallbacks(ctx, chat.ModelName); err != nil || fb != nil {
		t.Fatalf("Fallbacks before any = %v, %v", fb, err)
	}
	if err := c.SetFallbacks(ctx, chat.ModelName, []string{"gpt-4o"}); err != nil {
		t.Fatal(err)
	}
	if fb, err := c.Fallbacks(ctx, chat.ModelName); err != nil || !slices.Equal(fb, []string{"gpt-4o"}) {
		t.Fatalf("Fallbacks = %v, %v", fb, err)
	}
	if got := s.Fallbacks(chat.ModelName); !slices.Equal(got, []string{"gpt-4o"}) {
		t.Errorf("router_settings holds %v", got)
	}
	if err := c.SetFallbacks(ctx, chat.ModelName, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFallbacks(ctx, chat.ModelName, nil); err != nil {
		t.Errorf("removing fallbacks that are gone: %v", err)
	}
	if got := s.Fallbacks(chat.ModelName); got != nil {
		t.Errorf("router_settings still holds %v", got)
	}

	err := c.SetFallbacks(ctx, chat.ModelName, []string{"no-such-model"})
	if !errors.Is(err, gateway.ErrInvalid) || !strings.Contains(err.Error(), "Invalid fallback models") {
		t.Errorf("unknown fallback model: %v", err)
	}
	err = c.SetFallbacks(ctx, "not-in-router", []string{"gpt-4o"})
	if !errors.Is(err, gateway.ErrInvalid) || gateway.IsNotFound(err) || !strings.Contains(err.Error(), "run again") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := c.Fallbacks(ctx, "org/model"); !errors.Is(err, gateway.ErrUnsupported) {
		t.Errorf("model name with a slash: %v", err)
	}
}

func TestConfigModel(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.AddConfigModel(standin.Stored{ID: "tf-acc-test-cfg", ModelName: "cfg", LiteLLMParams: map[string]any{"model": "openai/gpt-4o", "api_key": "sk-x"}})
	c := newClient(t, s.URL, nil)
	ctx := context.Background()
	got, err := c.Read(ctx, "tf-acc-test-cfg")
	if err != nil || !got.FromConfig {
		t.Fatalf("Read = %+v, %v; want a config-file model", got, err)
	}
	d := gateway.Deployment{ID: "tf-acc-test-cfg", ModelName: "cfg", Model: "openai/gpt-4o", RPM: 5}
	for name, err := range map[string]error{
		"update": c.Update(ctx, *got, d),
		"delete": c.Delete(ctx, d.ID),
	} {
		if !errors.Is(err, gateway.ErrConfigModel) {
			t.Errorf("%s: %v, want ErrConfigModel", name, err)
		}
	}
}

func TestReadAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		status     int
		want       error
		wantModel  string
	}{
		{"empty list", `{"data": []}`, 200, gateway.ErrNotFound, ""},
		{"null", `{"data": null}`, 200, gateway.ErrNotFound, ""},
		{"another id", `{"data": [{"model_name": "a", "litellm_params": {"model": "x"}, "model_info": {"id": "other"}}]}`, 200, gateway.ErrNotFound, ""},
		{"list of many, ours among them", `{"data": [{"model_name": "a", "model_info": {"id": "other"}}, {"model_name": "b", "litellm_params": {"model": "openai/b"}, "model_info": {"id": "x"}}]}`, 200, nil, "openai/b"},
		{"not json", `<html>proxy</html>`, 200, gateway.ErrInvalid, ""},
		{"bare 404", `{"error": "Model id = x not found on litellm proxy"}`, 404, gateway.ErrNotFound, ""},
		{"unknown route", `{"detail": "Not Found"}`, 404, gateway.ErrUnsupported, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			got, err := newClient(t, srv.URL, nil).Read(context.Background(), "x")
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil || got.Model != tc.wantModel {
				t.Fatalf("Read = %+v, %v", got, err)
			}
		})
	}
}

// TestErrorsHideSecrets: whatever the gateway echoes, errors never carry the master key or the
// deployment's credentials.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error": {"message": "bad key ` + masterKey + ` and vllm-secret-key", "type": "auth_error", "param": "None", "code": "400"}}`))
	}))
	t.Cleanup(srv.Close)
	err := newClient(t, srv.URL, nil).Create(context.Background(), vllmDeployment("x"))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), masterKey) || strings.Contains(err.Error(), "vllm-secret-key") {
		t.Errorf("error holds a secret: %v", err)
	}
	if !strings.Contains(err.Error(), "<redacted>") {
		t.Errorf("error lost the gateway's message: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  litellm.Config
		want string
	}{
		{"no url", litellm.Config{MasterKey: "k"}, "no gateway URL"},
		{"no scheme", litellm.Config{URL: "litellm:4000", MasterKey: "k"}, "invalid gateway URL"},
		{"query", litellm.Config{URL: "http://litellm:4000/?a=b", MasterKey: "k"}, "invalid gateway URL"},
		{"credentials in url", litellm.Config{URL: "http://u:p@litellm:4000", MasterKey: "k"}, "must not carry credentials"},
		{"no key", litellm.Config{URL: "http://litellm:4000"}, "no gateway key"},
		{"bad CA", litellm.Config{URL: "https://litellm:4000", MasterKey: "k", CACertPEM: "not a pem"}, "holds no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := litellm.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	c, err := litellm.New(litellm.Config{URL: "https://litellm:4000/prefix/", MasterKey: "k"})
	if err != nil || c.URL() != "https://litellm:4000/prefix" {
		t.Errorf("New = %v, %v", c, err)
	}
}

// TestRouterLag: a proxy instance that has not yet polled the database does not know a model
// just added; setting fallbacks waits for it.
func TestRouterLag(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s.URL, nil)
	ctx := context.Background()
	s.SetRouterLag(2)
	chat := vllmDeployment("tf-acc-test-lag-chat")
	gpt := gateway.Deployment{ID: "tf-acc-test-lag-gpt", ModelName: "gpt-4o", Model: "openai/gpt-4o", APIKey: "sk-openai"}
	for _, d := range []gateway.Deployment{chat, gpt} {
		if err := c.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Read(ctx, chat.ID); !litellm.IsNotFound(err) {
		t.Fatalf("Read right after create on a lagging router: %v, want not found", err)
	}
	if err := c.SetFallbacks(ctx, chat.ModelName, []string{"gpt-4o"}); err != nil {
		t.Fatalf("SetFallbacks did not wait for the router: %v", err)
	}
	if n := s.Requests("/fallback"); n < 2 {
		t.Errorf("%d POST /fallback, want a retry", n)
	}
	if got := s.Fallbacks(chat.ModelName); !slices.Equal(got, []string{"gpt-4o"}) {
		t.Errorf("fallbacks %v", got)
	}
}
