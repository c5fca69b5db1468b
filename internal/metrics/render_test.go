package metrics

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Target{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "chat", "replica": "0"}}
	tests := []struct {
		name string
		cfg  Config
		want []string // Problem.Error() of each problem, in order; "" items are not allowed
	}{
		{name: "defaults and good targets", cfg: Config{Targets: []Target{ok,
			{Address: "[fd00::7]:8000"}, {Address: "vllm-chat.inference.svc.cluster.local:8000", Labels: map[string]string{"_x9": "ü"}}}}},
		{name: "no targets", cfg: Config{}},
		{name: "scheme", cfg: Config{Targets: []Target{{Address: "http://10.0.1.7:8000"}}},
			want: []string{`targets[0].target: "http://10.0.1.7:8000" is not host:port (no scheme, path, user, spaces or control characters), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`}},
		{name: "no port", cfg: Config{Targets: []Target{ok, {Address: "10.0.1.7"}}},
			want: []string{`targets[1].target: "10.0.1.7" is not host:port (a host, a colon and a port), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`}},
		{name: "bad ports", cfg: Config{Targets: []Target{{Address: "h:0"}, {Address: "h:65536"}, {Address: "h:http"}, {Address: "h:08000"}}},
			want: []string{
				`targets[0].target: "h:0" is not host:port (the port must be a number from 1 to 65535), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
				`targets[1].target: "h:65536" is not host:port (the port must be a number from 1 to 65535), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
				`targets[2].target: "h:http" is not host:port (the port must be a number from 1 to 65535), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
				`targets[3].target: "h:08000" is not host:port (the port must be a number from 1 to 65535), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
			}},
		{name: "empty host, unbracketed IPv6, control", cfg: Config{Targets: []Target{{Address: ":8000"}, {Address: "fd00::7:8000"}, {Address: "h\n:8000"}}},
			want: []string{
				`targets[0].target: ":8000" is not host:port (the host is empty), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
				`targets[1].target: "fd00::7:8000" is not host:port (a host, a colon and a port), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
				`targets[2].target: "h\n:8000" is not host:port (no scheme, path, user, spaces or control characters), e.g. "10.0.1.7:8000" or "[fd00::7]:8000"`,
			}},
		{name: "label names and values", cfg: Config{Targets: []Target{{Address: "h:1", Labels: map[string]string{
			"9lives": "x", "model-name": "x", "__address__": "evil:1", "ok": "tab\there", "fine": "x",
		}}}},
			want: []string{
				`targets[0].labels: label name "9lives" is not a Prometheus label name: letters, digits and "_", not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)`,
				`targets[0].labels: label name "__address__" starts with "__", which Prometheus reserves for its own use (it would drop the label or change how the target is scraped)`,
				`targets[0].labels: label name "model-name" is not a Prometheus label name: letters, digits and "_", not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)`,
				`targets[0].labels: label ok: the value must not contain control characters (a new line, a tab, ...): "tab\there"`,
			}},
		{name: "job, interval, path", cfg: Config{JobName: "vllm\n", ScrapeInterval: "15", MetricsPath: "metrics"},
			want: []string{
				`job_name: must not contain control characters (a new line, a tab, ...): "vllm\n"`,
				`scrape_interval: "15" is not a Prometheus duration: a number and a unit (ms, s, m, h, d, w, y), largest unit first, e.g. "15s" or "1m30s"`,
				`metrics_path: must start with "/" (vLLM serves "/metrics"), got "metrics"`,
			}},
		{name: "zero interval, path with query", cfg: Config{ScrapeInterval: "0s", MetricsPath: "/metrics?x=1"},
			want: []string{
				`scrape_interval: "0s" must be longer than zero`,
				`metrics_path: must be a URL path without spaces, control characters, query or fragment: "/metrics?x=1"`,
			}},
		{name: "good EC2 endpoints", cfg: Config{EC2: []EC2Endpoint{
			{Region: "us-east-1", Cluster: "llm-prod", Endpoint: "chat"},
			{Region: "us-gov-west-1", Cluster: "llm-prod", Endpoint: "chat", Port: 8001, Model: "org/m", Revision: "0123"},
			{Region: "ap-southeast-3", Cluster: "a", Endpoint: "b-c"}}}},
		{name: "bad EC2 endpoints", cfg: Config{EC2: []EC2Endpoint{
			{Region: "", Cluster: "llm-prod", Endpoint: "chat"},
			{Region: "us-east-1", Cluster: "LLM", Endpoint: "chat", Port: 70000},
			{Region: "us-east-1", Cluster: "llm", Endpoint: "chat;x", Model: "a\nb"},
			{Region: "us-east-1", Cluster: "llm", Endpoint: "chat"},
			{Region: "us-east-1", Cluster: "llm", Endpoint: "chat", Port: 8001},
		}},
			want: []string{
				`aws_endpoints[0].endpoint_id: the region "" is not an AWS region name (e.g. "us-east-1")`,
				`aws_endpoints[1].endpoint_id: the cluster name "LLM" is not an inference cluster's name (lower-case letters, digits and inner hyphens)`,
				`aws_endpoints[1].port: 70000 is not a TCP port (1-65535)`,
				`aws_endpoints[2].endpoint_id: the endpoint name "chat;x" is not a model endpoint's name (lower-case letters, digits and inner hyphens)`,
				`aws_endpoints[2].model: must not contain control characters (a new line, a tab, ...): "a\nb"`,
				`aws_endpoints[4].endpoint_id: endpoint chat of cluster llm in us-east-1 is listed twice (also aws_endpoints[3]): list each endpoint once`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range tt.cfg.Validate() {
				got = append(got, p.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
			if _, err := Render(tt.cfg); (err != nil) != (len(tt.want) > 0) {
				t.Errorf("Render error %v, want one: %t", err, len(tt.want) > 0)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "15s", want: 15 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "1d2h", want: 26 * time.Hour},
		{in: "1w", want: 7 * 24 * time.Hour},
		{in: "30s1m", wantErr: true},
		{in: "1.5s", wantErr: true},
		{in: "", wantErr: true},
		{in: "0ms", wantErr: true},
		{in: "-1s", wantErr: true},
		{in: "99999999999y", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRateWindow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		interval string
		want     string
	}{{"1s", "[1m]"}, {"15s", "[1m]"}, {"20s", "[1m20s]"}, {"1m30s", "[6m]"}, {"500ms", "[1m]"}, {"1h", "[4h]"}} {
		out, err := Render(Config{ScrapeInterval: tt.interval})
		if err != nil {
			t.Fatal(err)
		}
		if q := out.Queries["request_rate"]; !strings.Contains(q, tt.want+")") {
			t.Errorf("scrape_interval %s: request_rate = %s, want the window %s", tt.interval, q, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	cfg := Config{JobName: `llm "prod"`, ScrapeInterval: "30s", MetricsPath: "/metrics", Targets: []Target{
		{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "chat", "replica": "0", "revision": "0123"}},
		{Address: "10.0.1.8:8000", Labels: map[string]string{"endpoint": "chat", "replica": "1", "model": "yes"}},
	}}
	out, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The YAML reads back as the job, with values that look like numbers or booleans still strings.
	var doc struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(out.ScrapeConfigYAML), &doc); err != nil {
		t.Fatalf("scrape config is not YAML: %v\n%s", err, out.ScrapeConfigYAML)
	}
	if len(doc.ScrapeConfigs) != 1 {
		t.Fatalf("scrape_configs: %+v", doc.ScrapeConfigs)
	}
	job := doc.ScrapeConfigs[0]
	if job["job_name"] != `llm "prod"` || job["scrape_interval"] != "30s" || job["metrics_path"] != "/metrics" {
		t.Errorf("job: %+v", job)
	}
	var yamlGroups, jsonGroups []targetGroup
	b, _ := yaml.Marshal(job["static_configs"])
	if err := yaml.Unmarshal(b, &yamlGroups); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out.FileSDJSON), &jsonGroups); err != nil {
		t.Fatalf("file_sd is not JSON: %v\n%s", err, out.FileSDJSON)
	}
	for name, groups := range map[string][]targetGroup{"static_configs": yamlGroups, "file_sd": jsonGroups} {
		if len(groups) != 2 || groups[0].Targets[0] != "10.0.1.7:8000" || groups[0].Labels["revision"] != "0123" ||
			groups[1].Targets[0] != "10.0.1.8:8000" || groups[1].Labels["model"] != "yes" || len(groups[1].Labels) != 3 {
			t.Errorf("%s: %+v", name, groups)
		}
	}

	// Every query selects the job (quoted), and the names are QueryNames.
	if got := slices.Sorted(maps.Keys(out.Queries)); !slices.Equal(got, slices.Sorted(slices.Values(QueryNames))) {
		t.Errorf("queries %v, want %v", got, QueryNames)
	}
	for name, q := range out.Queries {
		if !strings.Contains(q, `{job="llm \"prod\""}`) || !strings.Contains(q, "by (") {
			t.Errorf("%s = %s: not per replica of the job", name, q)
		}
	}
	if q := out.Queries["kv_cache_usage"]; !strings.Contains(q, "vllm:kv_cache_usage_perc") || !strings.Contains(q, " or ") || !strings.Contains(q, "vllm:gpu_cache_usage_perc") {
		t.Errorf("kv_cache_usage = %s: want the new name with the old as fallback", q)
	}

	// The dashboard runs exactly the queries, each once, with the data source variable.
	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title      string            `json:"title"`
			Datasource map[string]string `json:"datasource"`
			Targets    []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(out.DashboardJSON), &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	if dash.UID != "inferstack-llm-prod" || len(dash.Templating.List) != 1 || dash.Templating.List[0].Type != "datasource" {
		t.Errorf("dashboard uid %q, templating %+v", dash.UID, dash.Templating)
	}
	var exprs, titles []string
	for _, p := range dash.Panels {
		titles = append(titles, p.Title)
		if p.Datasource["uid"] != "${datasource}" {
			t.Errorf("panel %q: data source %v", p.Title, p.Datasource)
		}
		for i, tg := range p.Targets {
			if tg.RefID != string(rune('A'+i)) {
				t.Errorf("panel %q: refId %q at %d", p.Title, tg.RefID, i)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	want := make([]string, 0, len(QueryNames))
	for _, n := range QueryNames {
		want = append(want, out.Queries[n])
	}
	if !slices.Equal(exprs, want) {
		t.Errorf("dashboard expressions\n%q\nwant the queries\n%q", exprs, want)
	}
	wantTitles := []string{"Requests finished per second", "Tokens per second", "Requests waiting (queue)", "Requests running",
		"KV-cache usage", "Time to first token", "Inter-token latency"}
	if !slices.Equal(titles, wantTitles) {
		t.Errorf("panels %q, want %q", titles, wantTitles)
	}
}

// TestRenderEC2: AWS endpoints become one ec2_sd_configs entry each (region, port, the
// endpoint's tags, running instances) in the job of the static targets, and relabel rules that
// label discovered instances only; file_sd holds the static targets alone.
func TestRenderEC2(t *testing.T) {
	t.Parallel()
	out, err := Render(Config{
		Targets: []Target{{Address: "10.0.1.7:8000", Labels: map[string]string{"endpoint": "local"}}},
		EC2: []EC2Endpoint{
			{Region: "us-east-1", Cluster: "llm-prod", Endpoint: "chat", Model: "Qwen/Qwen2.5-7B-Instruct", Revision: "a09a35458c702b33eeacc393d103063234e8bc28"},
			{Region: "eu-west-1", Cluster: "llm-prod", Endpoint: "embed", Port: 8001, Model: "odd$1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `scrape_configs:
  - job_name: vllm
    scrape_interval: 15s
    metrics_path: /metrics
    static_configs:
      - targets:
          - 10.0.1.7:8000
        labels:
          endpoint: local
    ec2_sd_configs:
      - region: us-east-1
        port: 8000
        filters:
          - name: tag:inferstack:cluster
            values:
              - llm-prod
          - name: tag:inferstack:endpoint
            values:
              - chat
          - name: instance-state-name
            values:
              - running
      - region: eu-west-1
        port: 8001
        filters:
          - name: tag:inferstack:cluster
            values:
              - llm-prod
          - name: tag:inferstack:endpoint
            values:
              - embed
          - name: instance-state-name
            values:
              - running
    relabel_configs:
      - source_labels: [__meta_ec2_tag_inferstack_endpoint]
        regex: (.+)
        target_label: endpoint
        replacement: $1
      - source_labels: [__meta_ec2_instance_id]
        regex: (.+)
        target_label: replica
        replacement: $1
      - source_labels: [__meta_ec2_private_ip]
        regex: (.+)
        target_label: host
        replacement: $1
      - source_labels: [__meta_ec2_availability_zone, __meta_ec2_tag_inferstack_cluster, __meta_ec2_tag_inferstack_endpoint]
        regex: us-east-1(?:[a-z]|-[^;]+);llm-prod;chat
        target_label: model
        replacement: Qwen/Qwen2.5-7B-Instruct
      - source_labels: [__meta_ec2_availability_zone, __meta_ec2_tag_inferstack_cluster, __meta_ec2_tag_inferstack_endpoint]
        regex: us-east-1(?:[a-z]|-[^;]+);llm-prod;chat
        target_label: revision
        replacement: a09a35458c702b33eeacc393d103063234e8bc28
      - source_labels: [__meta_ec2_availability_zone, __meta_ec2_tag_inferstack_cluster, __meta_ec2_tag_inferstack_endpoint]
        regex: eu-west-1(?:[a-z]|-[^;]+);llm-prod;embed
        target_label: model
        replacement: odd$$1
`
	if out.ScrapeConfigYAML != want {
		t.Errorf("scrape config:\n%s\nwant:\n%s", out.ScrapeConfigYAML, want)
	}
	if out.FileSDJSON != "[\n  {\n    \"targets\": [\n      \"10.0.1.7:8000\"\n    ],\n    \"labels\": {\n      \"endpoint\": \"local\"\n    }\n  }\n]\n" {
		t.Errorf("file_sd: %s, want the static target only", out.FileSDJSON)
	}
	// The zone pattern: the region's zones and local zones, not another region's.
	zone := regexp.MustCompile("^(?:us-east-1(?:[a-z]|-[^;]+))$")
	for az, ok := range map[string]bool{"us-east-1a": true, "us-east-1f": true, "us-east-1-bos-1a": true, "us-east-2a": false, "us-east-10a": false, "eu-west-1a": false} {
		if zone.MatchString(az) != ok {
			t.Errorf("zone %s matched %t, want %t", az, !ok, ok)
		}
	}
	// Without AWS endpoints the job has neither.
	plain, err := Render(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.ScrapeConfigYAML, "ec2_sd_configs") || strings.Contains(plain.ScrapeConfigYAML, "relabel_configs") {
		t.Errorf("a config without AWS endpoints:\n%s", plain.ScrapeConfigYAML)
	}
}
