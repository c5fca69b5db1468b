package vllm_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// awsCLI is the AWS CLI's folder: the node script calls `aws` (as it does for Secrets Manager),
// and the lab host's sessions have a PATH of their own. The CLI is installed beside moto
// (make tools); pyenv's shims would need the test user's HOME, so the real binary's folder.
func awsCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the AWS CLI is not installed: run make tools")
	}
	if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		p = strings.TrimSpace(string(out))
	}
	return filepath.Dir(p)
}

// An endpoint with metrics_publish gets the publisher's timer; publish-metrics reads its
// replicas' /metrics and puts the serving signals into CloudWatch (moto) under the namespace,
// with the group's dimension; remove takes the timer away.
func TestNodePublishMetrics(t *testing.T) {
	t.Parallel()
	h := labHost(t, "converge")
	dir := t.TempDir()
	moto, err := acctest.StartMoto(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)
	const ep, group, ns = "publisher", "inferstack-lab.publisher", "Inferstack/vLLM"
	spec := testSpec(h, ep, 1)
	spec.MetricsPublish = &vllm.MetricsPublish{Namespace: ns, Region: "eu-west-3", Dimension: "AutoScalingGroupName", DimensionValue: group}
	for _, m := range []string{vllm.MetricRequestsWaiting, vllm.MetricRequestsRunning, vllm.MetricKVCacheUsage} {
		spec.MetricsPublish.Metrics = append(spec.MetricsPublish.Metrics, vllm.PublishedMetric{Name: "m_" + m, Source: vllm.ServingMetrics[m]})
	}
	t.Cleanup(func() { nodeScript(t, h, "remove "+ep) })
	mustApply(t, h, spec)

	timer := "inferstack-metrics-" + ep + ".timer"
	if _, err := os.Stat(h.Path("/etc/systemd/system/" + timer)); err != nil {
		t.Fatalf("no publisher timer after apply: %v", err)
	}
	if out, err := h.Exec(`"$INFERSTACK_SHIMS/systemctl" is-active ` + timer + `; "$INFERSTACK_SHIMS/systemctl" is-enabled ` + timer); err != nil ||
		out != "active\nenabled\n" {
		t.Errorf("the publisher timer is %q (%v), want active and enabled", out, err)
	}

	env := fmt.Sprintf("PATH=%s:$PATH AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing", awsCLI(t), moto.URL)
	out, err := h.Exec(fmt.Sprintf(`%s "${INFERSTACK_ROOT:-}%s" publish-metrics %s`, env, vllm.ScriptPath, ep))
	if err != nil {
		t.Fatalf("publish-metrics: %v", err)
	}
	var pub struct {
		Namespace string `json:"namespace"`
		Metrics   []struct {
			MetricName string  `json:"MetricName"`
			Value      float64 `json:"Value"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &pub); err != nil || pub.Namespace != ns || len(pub.Metrics) != 3 {
		t.Fatalf("publish-metrics printed %q (%v); want the namespace and three metrics", out, err)
	}
	// The stand-in serves every request at once: nothing waits, its KV cache is a fraction.
	for _, m := range pub.Metrics {
		if m.Value < 0 || m.Value > 1 || (m.MetricName == "m_"+vllm.MetricRequestsWaiting && m.Value != 0) {
			t.Errorf("published %s = %g, want what the stand-in's /metrics says", m.MetricName, m.Value)
		}
	}

	cmd := exec.Command(filepath.Join(awsCLI(t), "aws"), "--region", "eu-west-3", "--endpoint-url", moto.URL, "cloudwatch", "list-metrics", "--namespace", ns)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing")
	listed, err := cmd.Output()
	if err != nil {
		t.Fatalf("list-metrics: %v", err)
	}
	var lm struct {
		Metrics []struct {
			MetricName string
			Dimensions []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(listed, &lm); err != nil {
		t.Fatalf("list-metrics printed %s: %v", listed, err)
	}
	got := map[string]bool{}
	for _, m := range lm.Metrics {
		if len(m.Dimensions) == 1 && m.Dimensions[0].Name == "AutoScalingGroupName" && m.Dimensions[0].Value == group {
			got[m.MetricName] = true
		}
	}
	for _, m := range []string{vllm.MetricRequestsWaiting, vllm.MetricRequestsRunning, vllm.MetricKVCacheUsage} {
		if !got["m_"+m] {
			t.Errorf("CloudWatch has no m_%s with dimension AutoScalingGroupName=%s: %s", m, group, listed)
		}
	}

	if r := nodeScript(t, h, "remove "+ep); r.code != 0 {
		t.Fatalf("remove: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(h.Path("/etc/systemd/system/" + timer)); !os.IsNotExist(err) {
		t.Errorf("the publisher timer is left after remove (%v)", err)
	}
}
