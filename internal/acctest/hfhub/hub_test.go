package hfhub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
)

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		hfhub.Llama8BID: true, hfhub.Llama70BID: true, hfhub.Mistral7BID: true, hfhub.Gemma27BID: true,
		hfhub.Qwen72BID: true, hfhub.Qwen7BID: true, hfhub.Qwen7BAWQID: true, hfhub.PrivateID: true, hfhub.GGUFOnlyID: true,
	}
	for _, m := range hfhub.Fixtures() {
		if !want[m.ID] {
			t.Errorf("unexpected fixture %s", m.ID)
		}
		delete(want, m.ID)
		if len(m.SHA) != 40 {
			t.Errorf("%s: sha %q", m.ID, m.SHA)
		}
		if m.ID != hfhub.GGUFOnlyID {
			var cfg map[string]any
			if err := json.Unmarshal(m.Files["config.json"], &cfg); err != nil {
				t.Errorf("%s: config.json: %v", m.ID, err)
			}
		}
	}
	for id := range want {
		t.Errorf("missing fixture %s", id)
	}
}

func TestHub(t *testing.T) {
	t.Parallel()
	s := hfhub.Start()
	t.Cleanup(s.Close)
	qwenSHA := s.SHA(hfhub.Qwen7BID, "main")
	prSHA := s.SHA(hfhub.Qwen7BID, "refs/pr/3")
	if qwenSHA == "" || prSHA == "" || qwenSHA == prSHA {
		t.Fatalf("shas: main %q, refs/pr/3 %q", qwenSHA, prSHA)
	}

	tests := []struct {
		name, path, token string
		status            int
		code, message     string
		sha               string // expected "sha" in the JSON, or X-Repo-Commit
	}{
		{name: "info main", path: "/api/models/" + hfhub.Qwen7BID + "/revision/main", status: 200, sha: qwenSHA},
		{name: "info no revision", path: "/api/models/" + hfhub.Qwen7BID, status: 200, sha: qwenSHA},
		{name: "info escaped pr ref", path: "/api/models/" + hfhub.Qwen7BID + "/revision/refs%2Fpr%2F3", status: 200, sha: prSHA},
		{name: "info by sha", path: "/api/models/" + hfhub.Qwen7BID + "/revision/" + prSHA, status: 200, sha: prSHA},
		{name: "info case-insensitive id", path: "/api/models/qwen/qwen2.5-7b-instruct/revision/main", status: 200, sha: qwenSHA},
		{name: "unknown revision", path: "/api/models/" + hfhub.Qwen7BID + "/revision/nope", status: 404, code: "RevisionNotFound", message: "Invalid rev id: nope"},
		{name: "missing anonymous", path: "/api/models/nobody/nothing/revision/main", status: 401, code: "RepoNotFound"},
		{name: "missing with token", path: "/api/models/nobody/nothing/revision/main", token: hfhub.UngrantedToken, status: 404, code: "RepoNotFound"},
		{name: "private anonymous", path: "/api/models/" + hfhub.PrivateID + "/revision/main", status: 401, code: "RepoNotFound"},
		{name: "private ungranted", path: "/api/models/" + hfhub.PrivateID + "/revision/main", token: hfhub.UngrantedToken, status: 404, code: "RepoNotFound"},
		{name: "private granted", path: "/api/models/" + hfhub.PrivateID + "/revision/main", token: hfhub.GrantedToken, status: 200, sha: s.SHA(hfhub.PrivateID, "main")},
		{name: "gated metadata is public", path: "/api/models/" + hfhub.Llama8BID + "/revision/main", status: 200, sha: s.SHA(hfhub.Llama8BID, "main")},
		{name: "gated file anonymous", path: "/" + hfhub.Llama8BID + "/resolve/main/config.json", status: 401, code: "GatedRepo"},
		{name: "gated file ungranted", path: "/" + hfhub.Llama8BID + "/resolve/main/config.json", token: hfhub.UngrantedToken, status: 403, code: "GatedRepo"},
		{name: "gated file granted", path: "/" + hfhub.Llama8BID + "/resolve/main/config.json", token: hfhub.GrantedToken, status: 200, sha: s.SHA(hfhub.Llama8BID, "main")},
		{name: "bad token", path: "/api/models/" + hfhub.Qwen7BID + "/revision/main", token: "hf_wrong", status: 401, message: "Invalid credentials in Authorization header"},
		{name: "file at sha", path: "/" + hfhub.Qwen7BID + "/resolve/" + prSHA + "/config.json", status: 200, sha: prSHA},
		{name: "missing file", path: "/" + hfhub.GGUFOnlyID + "/resolve/main/config.json", status: 404, code: "EntryNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, s.URL+tt.path, tt.token)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("X-Error-Code"); got != tt.code {
				t.Errorf("X-Error-Code %q, want %q", got, tt.code)
			}
			if tt.message != "" && resp.Header.Get("X-Error-Message") != tt.message {
				t.Errorf("X-Error-Message %q, want %q", resp.Header.Get("X-Error-Message"), tt.message)
			}
			if tt.sha == "" {
				return
			}
			if commit := resp.Header.Get("X-Repo-Commit"); commit != "" {
				if commit != tt.sha {
					t.Errorf("X-Repo-Commit %q, want %q", commit, tt.sha)
				}
				return
			}
			var info struct {
				SHA string `json:"sha"`
			}
			if err := json.Unmarshal(body, &info); err != nil || info.SHA != tt.sha {
				t.Errorf("sha %q (%v), want %q", info.SHA, err, tt.sha)
			}
		})
	}
}

func TestFailuresAndCounts(t *testing.T) {
	t.Parallel()
	s := hfhub.Start()
	t.Cleanup(s.Close)
	p := "/api/models/" + hfhub.Qwen7BID + "/revision/main"
	s.FailNext(1, http.StatusTooManyRequests, "7")
	s.FailNext(1, http.StatusServiceUnavailable, "")

	resp, _ := get(t, s.URL+p, "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("first: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, _ = get(t, s.URL+p, "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "" {
		t.Errorf("second: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, _ = get(t, s.URL+p, "")
	if resp.StatusCode != 200 {
		t.Errorf("third: %d", resp.StatusCode)
	}
	if n := s.Requests(p); n != 3 {
		t.Errorf("Requests = %d, want 3", n)
	}
	s.ResetCounts()
	if s.TotalRequests() != 0 {
		t.Errorf("TotalRequests after reset = %d", s.TotalRequests())
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	s := hfhub.Start(
		hfhub.WithoutFixtures(),
		hfhub.RequireToken(),
		hfhub.WithToken("hf_extra", false),
		hfhub.WithModel(hfhub.Model{ID: "acme/tiny", Files: map[string][]byte{"config.json": []byte(`{"hidden_size":64}`)}}),
	)
	t.Cleanup(s.Close)
	if resp, _ := get(t, s.URL+"/api/models/acme/tiny", ""); resp.StatusCode != 401 {
		t.Errorf("anonymous with RequireToken: %d, want 401", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/api/models/acme/tiny", "hf_extra"); resp.StatusCode != 200 {
		t.Errorf("extra token: %d, want 200", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/api/models/"+hfhub.Qwen7BID, "hf_extra"); resp.StatusCode != 404 {
		t.Errorf("fixtures dropped: %d, want 404", resp.StatusCode)
	}
	if got, want := s.SHA("acme/tiny", "main"), hfhub.FakeSHA("acme/tiny", "main"); got != want {
		t.Errorf("SHA = %q, want %q", got, want)
	}
}
