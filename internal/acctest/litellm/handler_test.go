package litellm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const key = "sk-master"

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, h http.Handler, method, path string, body any, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if len(headers) == 0 {
		headers = []string{"Authorization", "Bearer " + key}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

func errMessage(a answer) string {
	switch e := a.body["error"].(type) {
	case string:
		return e
	case map[string]any:
		s, _ := e["message"].(string)
		return s
	}
	if d, ok := a.body["detail"].(map[string]any); ok {
		s, _ := d["error"].(string)
		return s
	}
	s, _ := a.body["detail"].(string)
	return s
}

var newModel = map[string]any{
	"model_name": "llama-3.1-8b",
	"litellm_params": map[string]any{"model": "hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
		"api_base": "http://10.0.0.12:8000/v1", "api_key": "vllm-key", "weight": 1, "rpm": 600, "timeout": 600,
		"aws_session_token": "session-token-value"},
	"model_info": map[string]any{"id": "tf-vllm-0", "mode": "chat"},
}

func TestAuthForms(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)
	h.AddKey("sk-viewer", RoleProxyAdminViewer)
	cases := []struct {
		name    string
		headers []string
		status  int
		msg     string
	}{
		{"bearer", []string{"Authorization", "Bearer " + key}, 200, ""},
		{"x-litellm-api-key with Bearer", []string{"x-litellm-api-key", "Bearer " + key}, 200, ""},
		{"x-litellm-api-key bare", []string{"x-litellm-api-key", key}, 200, ""},
		{"API-Key", []string{"API-Key", key}, 200, ""},
		{"x-api-key", []string{"x-api-key", key}, 200, ""},
		{"x-goog-api-key", []string{"x-goog-api-key", key}, 200, ""},
		{"Ocp-Apim-Subscription-Key", []string{"Ocp-Apim-Subscription-Key", key}, 200, ""},
		{"virtual key", []string{"Authorization", "Bearer sk-viewer"}, 200, ""},
		{"none", []string{"X-Other", "1"}, 401, "No api key passed in"},
		{"malformed", []string{"Authorization", key}, 401, "Malformed API Key"},
		{"wrong", []string{"Authorization", "Bearer sk-nope"}, 401, "Invalid proxy server token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := call(t, h, "GET", "/model/info", nil, tc.headers...)
			if a.status != tc.status || !strings.Contains(errMessage(a), tc.msg) {
				t.Errorf("status %d %q, want %d %q", a.status, a.raw, tc.status, tc.msg)
			}
			if tc.status == 401 {
				e := a.body["error"].(map[string]any)
				if e["type"] != "auth_error" || e["code"] != "401" || strings.Contains(a.raw, "sk-nope") {
					t.Errorf("401 body %s", a.raw)
				}
			}
		})
	}
	if a := call(t, h, "POST", "/model/new", newModel, "Authorization", "Bearer sk-viewer"); a.status != 403 {
		t.Errorf("viewer create: %d %s", a.status, a.raw)
	}
	if a := call(t, h, "GET", "/health/liveliness", nil, "X", "y"); a.status != 200 || a.raw != "\"I'm alive!\"\n" {
		t.Errorf("liveliness: %d %q", a.status, a.raw)
	}
}

func TestModelLifecycle(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)

	a := call(t, h, "POST", "/model/new", newModel)
	if a.status != 200 || a.body["model_id"] != "tf-vllm-0" {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	params := a.body["litellm_params"].(map[string]any)
	for k, v := range params {
		s, ok := v.(string)
		if !ok || strings.Contains(s, "vllm-key") || s == "600" || strings.Contains(s, "hosted_vllm") {
			t.Errorf("create answer's %s is not encrypted: %v", k, v)
		}
	}
	if again := call(t, h, "PATCH", "/model/tf-vllm-0/update", map[string]any{}); again.body["litellm_params"].(map[string]any)["model"] == params["model"] {
		t.Error("two encryptions of one value are equal")
	}
	if dup := call(t, h, "POST", "/model/new", newModel); dup.status != 400 || !strings.Contains(errMessage(dup), "Unique constraint") {
		t.Errorf("duplicate id: %d %s", dup.status, dup.raw)
	}

	// Both /model/info shapes, credentials stripped or masked, defaults added, timeout a float.
	for _, shape := range []InfoShape{InfoShapeList, InfoShapeObject} {
		h.SetInfoShape(shape)
		a = call(t, h, "GET", "/model/info?litellm_model_id=tf-vllm-0", nil)
		var item map[string]any
		switch d := a.body["data"].(type) {
		case []any:
			if shape != InfoShapeList || len(d) != 1 {
				t.Fatalf("shape %d: %s", shape, a.raw)
			}
			item = d[0].(map[string]any)
		case map[string]any:
			if shape != InfoShapeObject {
				t.Fatalf("shape %d: %s", shape, a.raw)
			}
			item = d
		}
		p := item["litellm_params"].(map[string]any)
		if _, ok := p["api_key"]; ok || p["aws_session_token"] != "se****ue" || p["use_in_pass_through"] != false {
			t.Errorf("read params %v", p)
		}
		if !strings.Contains(a.raw, `"timeout":600.0`) {
			t.Errorf("timeout not a float: %s", a.raw)
		}
		if info := item["model_info"].(map[string]any); info["db_model"] != true || info["id"] != "tf-vllm-0" {
			t.Errorf("model_info %v", info)
		}
	}
	if a = call(t, h, "GET", "/model/info?litellm_model_id=nope", nil); a.status != 404 || !strings.Contains(errMessage(a), "Model id = nope not found on litellm proxy") {
		t.Errorf("unknown id: %d %s", a.status, a.raw)
	}

	// /model/update: needs model_info.id and litellm_params; null keeps; model_info ignored.
	for _, tc := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"litellm_params": map[string]any{}}, "model_info not provided"},
		{map[string]any{"model_info": map[string]any{}, "litellm_params": map[string]any{}}, "model_info.id not provided"},
		{map[string]any{"model_info": map[string]any{"id": "tf-vllm-0"}}, "litellm_params not provided"},
		{map[string]any{"model_info": map[string]any{"id": "ghost"}, "litellm_params": map[string]any{}}, "model not found"},
	} {
		if a = call(t, h, "POST", "/model/update", tc.body); a.status != 400 || !strings.Contains(errMessage(a), tc.msg) {
			t.Errorf("update %v: %d %s", tc.body, a.status, a.raw)
		}
	}
	a = call(t, h, "POST", "/model/update", map[string]any{
		"model_info":     map[string]any{"id": "tf-vllm-0", "mode": "embedding"},
		"litellm_params": map[string]any{"rpm": 5, "api_base": nil},
	})
	s, _ := h.Deployment("tf-vllm-0")
	if a.status != 200 || s.LiteLLMParams["rpm"] != int64(5) || s.LiteLLMParams["api_base"] != "http://10.0.0.12:8000/v1" || s.ModelInfo["mode"] != "chat" {
		t.Errorf("update: %d, stored %+v", a.status, s)
	}

	// PATCH merges model_info; null clears pricing fields only.
	call(t, h, "PATCH", "/model/tf-vllm-0/update", map[string]any{"litellm_params": map[string]any{"input_cost_per_token": 0.1}})
	a = call(t, h, "PATCH", "/model/tf-vllm-0/update", map[string]any{
		"model_info":     map[string]any{"mode": "embedding"},
		"litellm_params": map[string]any{"input_cost_per_token": nil, "rpm": nil},
	})
	s, _ = h.Deployment("tf-vllm-0")
	if _, ok := s.LiteLLMParams["input_cost_per_token"]; a.status != 200 || ok || s.LiteLLMParams["rpm"] != int64(5) || s.ModelInfo["mode"] != "embedding" {
		t.Errorf("patch: %d, stored %+v", a.status, s)
	}
	if a = call(t, h, "PATCH", "/model/ghost/update", map[string]any{}); a.status != 404 || !strings.Contains(errMessage(a), "Model ghost not found on proxy.") {
		t.Errorf("patch unknown: %d %s", a.status, a.raw)
	}

	// Delete; a second delete is a 400.
	if a = call(t, h, "POST", "/model/delete", map[string]any{"id": "tf-vllm-0"}); a.status != 200 || a.body["message"] != "Model: tf-vllm-0 deleted successfully" {
		t.Errorf("delete: %d %s", a.status, a.raw)
	}
	if a = call(t, h, "POST", "/model/delete", map[string]any{"id": "tf-vllm-0"}); a.status != 400 || errMessage(a) != "Model with id=tf-vllm-0 not found in db" {
		t.Errorf("delete again: %d %s", a.status, a.raw)
	}
}

func TestValidationEchoesInput(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)
	body := map[string]any{"litellm_params": map[string]any{"model": "x", "api_key": "echoed-secret"}}
	a := call(t, h, "POST", "/model/new", body)
	if a.status != 422 || !strings.Contains(a.raw, "echoed-secret") || !strings.Contains(a.raw, `"model_name"`) {
		t.Errorf("422: %d %s", a.status, a.raw)
	}
	bad := map[string]any{"model_name": "m", "litellm_params": map[string]any{"model": "x", "rpm": 1.5}}
	if a = call(t, h, "POST", "/model/new", bad); a.status != 422 {
		t.Errorf("fractional rpm: %d %s", a.status, a.raw)
	}
}

func TestTeamModelAndPricing(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)
	a := call(t, h, "POST", "/model/new", map[string]any{
		"model_name":     "team-model",
		"litellm_params": map[string]any{"model": "openai/gpt-4o", "input_cost_per_token": 0.5},
		"model_info":     map[string]any{"team_id": "t1"},
	})
	info := a.body["model_info"].(map[string]any)
	name := a.body["model_name"].(string)
	if !strings.HasPrefix(name, "model_name_t1_") || info["team_public_model_name"] != "team-model" || info["input_cost_per_token"] != 0.5 || info["id"] == "" {
		t.Errorf("team model: %s", a.raw)
	}
}

func TestNoDatabase(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		db, store     bool
		method, path  string
		body          any
		status        int
		msg           string
		readinessDB   string
		checkReadness bool
	}{
		{"new without db", false, true, "POST", "/model/new", newModel, 500, "No DB Connected", "Not connected", true},
		{"patch without db", false, true, "PATCH", "/model/x/update", map[string]any{}, 500, "db_not_connected_error", "", false},
		{"delete without db", false, true, "POST", "/model/delete", map[string]any{"id": "x"}, 500, "No DB Connected", "", false},
		{"new without store", true, false, "POST", "/model/new", newModel, 500, "STORE_MODEL_IN_DB", "connected", true},
		{"patch without store", true, false, "PATCH", "/model/x/update", map[string]any{}, 400, "only supported for DB-stored models", "", false},
		{"delete without store", true, false, "POST", "/model/delete", map[string]any{"id": "x"}, 500, "STORE_MODEL_IN_DB", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := NewHandler(key)
			h.SetDatabase(tc.db)
			h.SetStoreModelInDB(tc.store)
			a := call(t, h, tc.method, tc.path, tc.body)
			if a.status != tc.status || !strings.Contains(errMessage(a), tc.msg) {
				t.Errorf("%d %s, want %d %q", a.status, a.raw, tc.status, tc.msg)
			}
			if tc.checkReadness {
				if r := call(t, h, "GET", "/health/readiness", nil); r.status != 200 || r.body["db"] != tc.readinessDB {
					t.Errorf("readiness %s", r.raw)
				}
			}
		})
	}
}

func TestConfigModels(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)
	h.AddConfigModel(Stored{ID: "cfg", ModelName: "cfg-model", LiteLLMParams: map[string]any{"model": "openai/gpt-4o"}})
	a := call(t, h, "GET", "/model/info?litellm_model_id=cfg", nil)
	if a.status != 200 || !strings.Contains(a.raw, `"db_model":false`) {
		t.Errorf("read: %s", a.raw)
	}
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/model/update", map[string]any{"model_info": map[string]any{"id": "cfg"}, "litellm_params": map[string]any{}}, 400, "Model in config"},
		{"PATCH", "/model/cfg/update", map[string]any{}, 400, "Cannot edit config-based model"},
		{"POST", "/model/delete", map[string]any{"id": "cfg"}, 400, "not found in db"},
	} {
		if a := call(t, h, tc.method, tc.path, tc.body); a.status != tc.status || !strings.Contains(errMessage(a), tc.msg) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.raw)
		}
	}
	if len(h.Deployments()) != 0 {
		t.Error("a config model is listed as a database deployment")
	}
}

func TestFallbackEndpoints(t *testing.T) {
	t.Parallel()
	h := NewHandler(key)
	call(t, h, "POST", "/model/new", newModel)
	call(t, h, "POST", "/model/new", map[string]any{"model_name": "gpt-4o", "litellm_params": map[string]any{"model": "openai/gpt-4o"}})

	for _, tc := range []struct {
		body   map[string]any
		status int
		msg    string
	}{
		{map[string]any{"model": "ghost", "fallback_models": []string{"gpt-4o"}}, 404, "Model 'ghost' not found in router"},
		{map[string]any{"model": "llama-3.1-8b", "fallback_models": []string{"ghost"}}, 400, "Invalid fallback models: ['ghost']"},
		{map[string]any{"model": "llama-3.1-8b", "fallback_models": []string{"llama-3.1-8b"}}, 400, "cannot be its own fallback"},
		{map[string]any{"model": "llama-3.1-8b", "fallback_models": []string{}}, 422, ""},
		{map[string]any{"model": "llama-3.1-8b", "fallback_models": []string{"gpt-4o"}}, 200, ""},
		{map[string]any{"model": "llama-3.1-8b", "fallback_models": []string{"gpt-4o"}, "fallback_type": "context_window"}, 200, ""},
	} {
		if a := call(t, h, "POST", "/fallback", tc.body); a.status != tc.status || !strings.Contains(errMessage(a), tc.msg) {
			t.Errorf("POST /fallback %v: %d %s", tc.body, a.status, a.raw)
		}
	}
	a := call(t, h, "GET", "/fallback/llama-3.1-8b?fallback_type=general", nil)
	if a.status != 200 || a.body["fallback_type"] != "general" || len(a.body["fallback_models"].([]any)) != 1 {
		t.Errorf("GET: %d %s", a.status, a.raw)
	}
	if a = call(t, h, "DELETE", "/fallback/llama-3.1-8b", nil); a.status != 200 {
		t.Errorf("DELETE: %d %s", a.status, a.raw)
	}
	if a = call(t, h, "GET", "/fallback/llama-3.1-8b", nil); a.status != 404 || !strings.Contains(errMessage(a), "No general fallbacks configured for model 'llama-3.1-8b'") {
		t.Errorf("GET after delete: %d %s", a.status, a.raw)
	}
	if a = call(t, h, "DELETE", "/fallback/llama-3.1-8b", nil); a.status != 404 {
		t.Errorf("DELETE again: %d %s", a.status, a.raw)
	}
	if got := h.Fallbacks("llama-3.1-8b"); got != nil {
		t.Errorf("general fallbacks left: %v", got)
	}
	if a = call(t, h, "GET", "/fallback/llama-3.1-8b?fallback_type=context_window", nil); a.status != 200 {
		t.Errorf("context_window fallbacks lost: %d %s", a.status, a.raw)
	}
}

func TestControls(t *testing.T) {
	t.Parallel()
	s := Start(key)
	defer s.Close()
	h := s.Handler
	h.InjectFailures(Failure{Path: "/model/info", Status: 429, RetryAfter: "2", Count: 2})
	for i, want := range []int{429, 429, 200} {
		resp, err := http.DefaultClient.Do(func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/model/info", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			return r
		}())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == 429 && resp.Header.Get("Retry-After") != "2") {
			t.Errorf("request %d: %d (Retry-After %q), want %d", i, resp.StatusCode, resp.Header.Get("Retry-After"), want)
		}
	}
	if n := h.Requests("/model/info"); n != 3 {
		t.Errorf("Requests = %d, want 3", n)
	}
	call(t, h, "POST", "/model/new", newModel)
	if !h.ChangeDeployment("tf-vllm-0", func(s *Stored) { s.LiteLLMParams["rpm"] = int64(1) }) {
		t.Fatal("ChangeDeployment found nothing")
	}
	if d, _ := h.Deployment("tf-vllm-0"); d.LiteLLMParams["rpm"] != int64(1) {
		t.Errorf("change lost: %v", d.LiteLLMParams)
	}
	if !h.DeleteDeployment("tf-vllm-0") || h.DeleteDeployment("tf-vllm-0") || len(h.Deployments()) != 0 {
		t.Error("DeleteDeployment")
	}
	if New(key) == nil {
		t.Error("New returned nil")
	}
	if a := call(t, h, "GET", "/v1/models", nil); a.status != 200 {
		t.Errorf("/v1/models: %d", a.status)
	}
	if a := call(t, h, "GET", "/no/such/route", nil); a.status != 404 || a.body["detail"] != "Not Found" {
		t.Errorf("unknown route: %d %s", a.status, a.raw)
	}
}
