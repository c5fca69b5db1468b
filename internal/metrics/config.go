// Package metrics renders what Prometheus and Grafana need to watch vLLM endpoints: a scrape
// config (static_configs YAML and file_sd JSON) for the endpoints' metrics targets, the PromQL
// queries a dashboard runs, and a Grafana dashboard built from those queries.
//
// The metric names are vLLM's own (vllm/v1/metrics/loggers.py): gauges
// vllm:num_requests_running, vllm:num_requests_waiting and vllm:kv_cache_usage_perc (before vLLM
// 0.9 vllm:gpu_cache_usage_perc), histograms vllm:time_to_first_token_seconds and
// vllm:inter_token_latency_seconds (before vLLM 0.11 vllm:time_per_output_token_seconds), and
// counters vllm:request_success_total, vllm:prompt_tokens_total and
// vllm:generation_tokens_total, each labelled model_name and engine. Where vLLM renamed a metric
// the queries take the new name and fall back to the old one, so one dashboard serves a fleet
// of mixed vLLM versions.
//
// It makes no network call and knows nothing of Terraform.
package metrics

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

// Defaults of Config.
const (
	DefaultJobName        = "vllm"
	DefaultScrapeInterval = "15s"
	DefaultMetricsPath    = "/metrics"
)

// Target is one thing Prometheus scrapes: a vLLM replica's "host:port" (or, on Kubernetes, its
// Service's) and the labels its samples carry (endpoint, model, revision, replica, host).
type Target struct {
	Address string
	Labels  map[string]string
}

// Config is a scrape job over a set of targets. Empty fields take the defaults above.
type Config struct {
	// JobName is the scrape job's name, the `job` label of every sample, which the queries
	// select on.
	JobName string
	// ScrapeInterval is a Prometheus duration ("15s", "1m30s").
	ScrapeInterval string
	// MetricsPath is the HTTP path of the metrics; vLLM serves them on /metrics.
	MetricsPath string
	Targets     []Target
	// EC2 are endpoints on AWS, whose instances Prometheus discovers (see EC2Endpoint); they
	// scrape in the same job as Targets.
	EC2 []EC2Endpoint
}

func (c Config) withDefaults() Config {
	if c.JobName == "" {
		c.JobName = DefaultJobName
	}
	if c.ScrapeInterval == "" {
		c.ScrapeInterval = DefaultScrapeInterval
	}
	if c.MetricsPath == "" {
		c.MetricsPath = DefaultMetricsPath
	}
	return c
}

var (
	// labelNamePattern is Prometheus' label name rule (model.LabelNameRE of Prometheus 2).
	labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// durationPattern is Prometheus' duration syntax (model.ParseDuration): units from the
	// largest to the smallest, each at most once.
	durationPattern = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)
	durationUnits   = []time.Duration{365 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second, time.Millisecond}
)

// ParseDuration parses a Prometheus duration ("15s", "1m30s", "500ms"); it must be positive.
func ParseDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(s)
	if s == "" || m == nil {
		return 0, fmt.Errorf("%q is not a Prometheus duration: a number and a unit (ms, s, m, h, d, w, y), largest unit first, e.g. \"15s\" or \"1m30s\"", s)
	}
	var d time.Duration
	for i, unit := range durationUnits {
		if n := m[2*i+2]; n != "" {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v > int64(100*365*24*time.Hour/unit) {
				return 0, fmt.Errorf("%q is too long for a scrape interval", s)
			}
			d += time.Duration(v) * unit
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return d, nil
}

// Validate reports everything wrong with c, each problem on its attribute (the data source's
// names: "job_name", "scrape_interval", "metrics_path", "targets"[i] "target" / "labels",
// "aws_endpoints"[i] "endpoint_id" / "port" / "model" / "revision").
// Values Prometheus would refuse, or that would break the config or the queries, are problems:
// a target that is not "host:port", a label name outside [a-zA-Z_][a-zA-Z0-9_]* or reserved
// ("__" prefix), and control characters anywhere.
func (c Config) Validate() errs.List {
	c = c.withDefaults()
	var ps errs.List
	if hasControl(c.JobName) {
		ps.Add("must not contain control characters (a new line, a tab, ...): "+strconv.Quote(c.JobName), "job_name")
	}
	if _, err := ParseDuration(c.ScrapeInterval); err != nil {
		ps.Add(err.Error(), "scrape_interval")
	}
	switch {
	case hasControl(c.MetricsPath) || strings.ContainsAny(c.MetricsPath, " ?#"):
		ps.Add("must be a URL path without spaces, control characters, query or fragment: "+strconv.Quote(c.MetricsPath), "metrics_path")
	case !strings.HasPrefix(c.MetricsPath, "/"):
		ps.Add(fmt.Sprintf("must start with \"/\" (vLLM serves \"/metrics\"), got %q", c.MetricsPath), "metrics_path")
	}
	for i, t := range c.Targets {
		if err := checkAddress(t.Address); err != nil {
			ps.Add(err.Error(), "targets", i, "target")
		}
		for _, name := range slices.Sorted(maps.Keys(t.Labels)) {
			switch value := t.Labels[name]; {
			case !labelNamePattern.MatchString(name):
				ps.Add(fmt.Sprintf("label name %q is not a Prometheus label name: letters, digits and \"_\", not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)", name), "targets", i, "labels")
			case strings.HasPrefix(name, "__"):
				ps.Add(fmt.Sprintf("label name %q starts with \"__\", which Prometheus reserves for its own use (it would drop the label or change how the target is scraped)", name), "targets", i, "labels")
			case hasControl(value):
				ps.Add(fmt.Sprintf("label %s: the value must not contain control characters (a new line, a tab, ...): %s", name, strconv.Quote(value)), "targets", i, "labels")
			}
		}
	}
	validateEC2(c.EC2, &ps)
	return ps
}

// checkAddress accepts what Prometheus scrapes as __address__: "host:port", with an IPv6 host
// in brackets, and nothing else (no scheme, path or user).
func checkAddress(addr string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q is not host:port (%s), e.g. \"10.0.1.7:8000\" or \"[fd00::7]:8000\"", addr, why)
	}
	if hasControl(addr) || strings.ContainsAny(addr, " /@?#") {
		return bad("no scheme, path, user, spaces or control characters")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad("a host, a colon and a port")
	}
	if host == "" {
		return bad("the host is empty")
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return bad("the host is not an IP address or a DNS name")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return bad("the port must be a number from 1 to 65535")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
