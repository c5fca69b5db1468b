package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rendered is everything Render makes from a Config.
type Rendered struct {
	// ScrapeConfigYAML is a Prometheus config document with one job under scrape_configs, its
	// targets in static_configs, one group per target, and the EC2 endpoints in ec2_sd_configs
	// with the relabel_configs that label their instances.
	ScrapeConfigYAML string
	// FileSDJSON is the same target groups in file_sd_configs' JSON format, for a Prometheus that
	// reads targets from files (it reloads them without a restart). EC2 endpoints are not in it:
	// their instances are discovered, not listed.
	FileSDJSON string
	// DashboardJSON is a Grafana dashboard whose panels run Queries, per endpoint and replica.
	DashboardJSON string
	// Queries maps a name to the PromQL of one dashboard series (see QueryNames).
	Queries map[string]string
}

// Render validates c and renders the scrape config, the file_sd targets, the queries and the
// dashboard. Bad input is returned as an errs.List.
func Render(c Config) (Rendered, error) {
	if ps := c.Validate(); len(ps) > 0 {
		return Rendered{}, ps
	}
	c = c.withDefaults()
	interval, _ := ParseDuration(c.ScrapeInterval) // valid: checked above

	groups := make([]targetGroup, 0, len(c.Targets))
	for _, t := range c.Targets {
		groups = append(groups, targetGroup{Targets: []string{t.Address}, Labels: t.Labels})
	}
	sds, rules := ec2Discovery(c.EC2)
	var y bytes.Buffer
	enc := yaml.NewEncoder(&y)
	enc.SetIndent(2)
	err := enc.Encode(scrapeFile{ScrapeConfigs: []scrapeConfig{{
		JobName:        c.JobName,
		ScrapeInterval: c.ScrapeInterval,
		MetricsPath:    c.MetricsPath,
		StaticConfigs:  groups,
		EC2SDConfigs:   sds,
		RelabelConfigs: rules,
	}}})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("encoding the scrape config: %w", err)
	}
	sd, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return Rendered{}, fmt.Errorf("encoding the file_sd targets: %w", err)
	}

	qs := queries(c.JobName, interval)
	dash, err := dashboard(c.JobName, qs)
	if err != nil {
		return Rendered{}, fmt.Errorf("encoding the dashboard: %w", err)
	}
	out := Rendered{
		ScrapeConfigYAML: y.String(),
		FileSDJSON:       string(sd) + "\n",
		DashboardJSON:    dash,
		Queries:          make(map[string]string, len(qs)),
	}
	for _, q := range qs {
		out.Queries[q.name] = q.expr
	}
	return out, nil
}

type scrapeFile struct {
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName        string          `yaml:"job_name"`
	ScrapeInterval string          `yaml:"scrape_interval"`
	MetricsPath    string          `yaml:"metrics_path"`
	StaticConfigs  []targetGroup   `yaml:"static_configs"`
	EC2SDConfigs   []ec2SDConfig   `yaml:"ec2_sd_configs,omitempty"`
	RelabelConfigs []relabelConfig `yaml:"relabel_configs,omitempty"`
}

// targetGroup is a Prometheus target group, as static_configs and file_sd files both take it.
type targetGroup struct {
	Targets []string          `yaml:"targets" json:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// query is one dashboard series: its name in Rendered.Queries, the panel it belongs to, and the
// legend of its lines.
type query struct {
	name, panel, legend, expr string
}

// QueryNames are the keys of Rendered.Queries, in dashboard order.
var QueryNames = []string{
	"request_rate", "prompt_tokens_rate", "generation_tokens_rate", "requests_waiting", "requests_running",
	"kv_cache_usage", "ttft_p50", "ttft_p90", "ttft_p99", "itl_p50", "itl_p90", "itl_p99",
}

// perReplica is the grouping of every query: one line per endpoint and replica (labels of the
// targets); vLLM's own model_name and engine labels are summed over.
const perReplica = "endpoint, replica"

// RateWindow is the range of the queries' rate(): four scrape intervals (a window that always
// holds at least two samples, however a scrape is late), and at least a minute, as Grafana's
// $__rate_interval does. Grafana's variable is not used because the queries must also run as
// they are, against Prometheus' HTTP API or in recording rules.
func RateWindow(interval time.Duration) time.Duration {
	return max(4*interval, time.Minute).Round(time.Second)
}

func queries(job string, interval time.Duration) []query {
	sel := "{job=" + strconv.Quote(job) + "}"
	window := "[" + promDuration(RateWindow(interval)) + "]"
	rate := func(metric string) string {
		return "sum by (" + perReplica + ") (rate(" + metric + sel + window + "))"
	}
	gauge := func(agg, metric string) string {
		return agg + " by (" + perReplica + ") (" + metric + sel + ")"
	}
	quantile := func(q, metric string) string {
		return "histogram_quantile(" + q + ", sum by (le, " + perReplica + ") (rate(" + metric + "_bucket" + sel + window + ")))"
	}
	legend := "{{endpoint}} {{replica}}"
	qs := []query{
		{"request_rate", "Requests finished per second", legend, rate("vllm:request_success_total")},
		{"prompt_tokens_rate", "Tokens per second", "prompt " + legend, rate("vllm:prompt_tokens_total")},
		{"generation_tokens_rate", "Tokens per second", "generated " + legend, rate("vllm:generation_tokens_total")},
		{"requests_waiting", "Requests waiting (queue)", legend, gauge("sum", "vllm:num_requests_waiting")},
		{"requests_running", "Requests running", legend, gauge("sum", "vllm:num_requests_running")},
		// vLLM 0.9 renamed gpu_cache_usage_perc; "or" takes the old series only where a
		// replica has no new one.
		{"kv_cache_usage", "KV-cache usage", legend,
			gauge("max", "vllm:kv_cache_usage_perc") + " or " + gauge("max", "vllm:gpu_cache_usage_perc")},
	}
	for _, p := range []string{"50", "90", "99"} {
		qs = append(qs, query{"ttft_p" + p, "Time to first token", "p" + p + " " + legend,
			quantile("0."+p, "vllm:time_to_first_token_seconds")})
	}
	for _, p := range []string{"50", "90", "99"} {
		// vLLM 0.11 renamed time_per_output_token_seconds (0.10 exports both, equal).
		qs = append(qs, query{"itl_p" + p, "Inter-token latency", "p" + p + " " + legend,
			quantile("0."+p, "vllm:inter_token_latency_seconds") + " or " + quantile("0."+p, "vllm:time_per_output_token_seconds")})
	}
	return qs
}

// promDuration writes d (whole seconds) as Prometheus does: "1m", "90s" is "1m30s".
func promDuration(d time.Duration) string {
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		secs int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if n := s / u.secs; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			s -= n * u.secs
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// panelUnits are the Grafana units of the panels.
var panelUnits = map[string]string{
	"Requests finished per second": "reqps",
	"Tokens per second":            "short",
	"Requests waiting (queue)":     "short",
	"Requests running":             "short",
	"KV-cache usage":               "percentunit",
	"Time to first token":          "s",
	"Inter-token latency":          "s",
}

var uidUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// dashboard renders a Grafana dashboard (JSON model, schemaVersion 39) with one time-series
// panel per group of queries, two panels a row, and a data source variable so it imports into
// any Grafana with a Prometheus data source.
func dashboard(job string, qs []query) (string, error) {
	type target struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	}
	datasource := map[string]string{"type": "prometheus", "uid": "${datasource}"}
	var panels []map[string]any
	byTitle := map[string]int{}
	for _, q := range qs {
		i, ok := byTitle[q.panel]
		if !ok {
			i = len(panels)
			byTitle[q.panel] = i
			defaults := map[string]any{"unit": panelUnits[q.panel], "min": 0}
			if q.panel == "KV-cache usage" {
				defaults["max"] = 1
			}
			panels = append(panels, map[string]any{
				"id":          i + 1,
				"type":        "timeseries",
				"title":       q.panel,
				"datasource":  datasource,
				"gridPos":     map[string]int{"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i / 2)},
				"fieldConfig": map[string]any{"defaults": defaults, "overrides": []any{}},
				"options": map[string]any{
					"legend":  map[string]any{"displayMode": "table", "placement": "bottom", "calcs": []string{"lastNotNull", "max"}},
					"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
				},
				"targets": []target{},
			})
		}
		ts := panels[i]["targets"].([]target)
		panels[i]["targets"] = append(ts, target{RefID: string(rune('A' + len(ts))), Expr: q.expr, LegendFormat: q.legend})
	}
	uid := strings.Trim(uidUnsafe.ReplaceAllString("inferstack-"+job, "-"), "-")
	if len(uid) > 40 { // Grafana's limit
		uid = uid[:40]
	}
	d := map[string]any{
		"uid":           uid,
		"title":         "vLLM endpoints (" + job + ")",
		"description":   "vLLM serving metrics of the endpoints scraped by the Prometheus job " + strconv.Quote(job) + ", per endpoint and replica. Rendered by inferstack.",
		"tags":          []string{"inferstack", "vllm"},
		"editable":      true,
		"schemaVersion": 39,
		"refresh":       "30s",
		"time":          map[string]string{"from": "now-1h", "to": "now"},
		"timezone":      "browser",
		"templating": map[string]any{"list": []map[string]any{{
			"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
			"current": map[string]any{}, "hide": 0, "refresh": 1,
		}}},
		"panels": panels,
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", err
	}
	return string(b) + "\n", nil
}
