package vllm_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// The node script runs for real on sshlab hosts (real sshd; shims of docker, systemctl,
// journalctl and nvidia-smi; the vLLM stand-in answering the health checks). The lab starts on
// the first test that needs it and is shared; each test uses hosts of its own.

var (
	labOnce sync.Once
	lab     *sshlab.Lab
	labErr  error
	labDir  string
)

var l4 = sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}

func TestMain(m *testing.M) {
	code := m.Run()
	if lab != nil {
		if err := lab.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the SSH lab:", err)
			code = 1
		}
	}
	if labDir != "" {
		_ = os.RemoveAll(labDir)
	}
	os.Exit(code)
}

// labHost returns a host of the shared lab, starting the lab on first use.
func labHost(t *testing.T, name string) *sshlab.Host {
	t.Helper()
	labOnce.Do(func() {
		labDir, labErr = os.MkdirTemp("", "vllm-node-")
		if labErr != nil {
			return
		}
		lab, labErr = sshlab.Start(labDir,
			sshlab.HostSpec{Name: "converge", GPUs: []sshlab.GPU{l4, l4, l4, l4}},
			sshlab.HostSpec{Name: "parallel", GPUs: []sshlab.GPU{l4, l4, l4, l4}},
			sshlab.HostSpec{Name: "broken", GPUs: []sshlab.GPU{l4}},
		)
	})
	if labErr != nil {
		t.Fatalf("starting the SSH lab (needs openssh-server: run make tools): %v", labErr)
	}
	h := lab.Host(name)
	if h == nil {
		t.Fatalf("no lab host %s", name)
	}
	return h
}

const (
	testRevision = "a09a35458c702b33eeacc393d103063234e8bc28"
	pollInterval = "0.2"
)

func apiKey(endpoint string) string { return "sk-test-" + endpoint + "-0123456789" }

// testSpec is an endpoint of n replicas on h, GPUs and ports left to the node.
func testSpec(h *sshlab.Host, endpoint string, n int) vllm.Spec {
	s := vllm.Spec{
		Endpoint:        endpoint,
		Model:           vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: testRevision},
		ServedModelName: endpoint + "-chat",
		ListenAddress:   h.Address,
		Secrets: vllm.Secrets{APIKey: vllm.SecretRef{
			Source: vllm.SecretFile, Name: vllm.SecretFilePath(endpoint, "VLLM_API_KEY"),
		}},
		ReadyTimeout: 20 * time.Second,
	}
	for i := range n {
		s.Replicas = append(s.Replicas, vllm.Replica{Index: i})
	}
	return s
}

// result is one run of the node script.
type result struct {
	stdout, stderr string
	code           int
}

// nodeScript runs the node script on h over SSH, as the on-prem backend does.
func nodeScript(t *testing.T, h *sshlab.Host, args string) result {
	t.Helper()
	out, err := h.Exec(fmt.Sprintf(`INFERSTACK_POLL_INTERVAL=%s "${INFERSTACK_ROOT:-}%s" %s`, pollInterval, vllm.ScriptPath, args))
	if err == nil {
		return result{stdout: out}
	}
	var e *sshlab.ExecError
	if !errors.As(err, &e) || e.ExitStatus() < 0 {
		t.Fatalf("running the node script on %s: %v", h.Name, err)
	}
	return result{stdout: e.Stdout, stderr: e.Stderr, code: e.ExitStatus()}
}

// install puts what the on-prem backend uploads on h: the script, the secret file (mode 0600)
// and the spec; it returns the spec's path on the host.
func install(t *testing.T, h *sshlab.Host, b vllm.Bundle) string {
	t.Helper()
	ep := b.Spec.Endpoint
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{vllm.ScriptPath, b.Script, 0o755},
		{vllm.SecretFilePath(ep, "VLLM_API_KEY"), []byte(apiKey(ep) + "\n"), 0o600},
		{"/tmp/" + ep + ".json", b.SpecJSON, 0o600},
	}
	for _, f := range files {
		p := h.Path(f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		tmp := p + ".upload"
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	return "/tmp/" + ep + ".json"
}

// apply installs and converges spec on h and returns the status and the run.
func apply(t *testing.T, h *sshlab.Host, spec vllm.Spec) (vllm.Status, result) {
	t.Helper()
	b, err := vllm.NodeBundle(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := install(t, h, b)
	start := time.Now()
	r := nodeScript(t, h, `apply "${INFERSTACK_ROOT:-}`+path+`"`)
	t.Logf("apply %s on %s: exit %d in %s", spec.Endpoint, h.Name, r.code, time.Since(start).Round(time.Millisecond))
	st, err := vllm.ParseStatus([]byte(r.stdout))
	if err != nil {
		t.Fatalf("apply %s: %v\nstdout: %s\nstderr: %s", spec.Endpoint, err, r.stdout, r.stderr)
	}
	return st, r
}

// mustApply converges and fails the test unless every replica is ready.
func mustApply(t *testing.T, h *sshlab.Host, spec vllm.Spec) vllm.Status {
	t.Helper()
	st, r := apply(t, h, spec)
	if r.code != 0 || !st.Ready || len(st.Replicas) != len(spec.Replicas) {
		t.Fatalf("apply %s: exit %d, status %+v\nstderr:\n%s", spec.Endpoint, r.code, st, r.stderr)
	}
	return st
}

func actions(st vllm.Status) map[int]string {
	out := map[int]string{}
	for _, r := range st.Replicas {
		out[r.Index] = r.Action
	}
	return out
}

// containerPID is the process of a replica's container, from `docker inspect`.
func containerPID(t *testing.T, h *sshlab.Host, endpoint string, index int) string {
	t.Helper()
	out, err := h.Exec("docker inspect -f '{{.State.Pid}}' " + vllm.ContainerName(endpoint, index))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// unitCalls are the systemctl calls logged since offset that start, stop or restart a unit.
func unitCalls(t *testing.T, h *sshlab.Host, offset int) []string {
	t.Helper()
	data, err := os.ReadFile(h.Path(sshlab.SystemctlLog))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n")[offset:] {
		f := strings.Fields(line)
		if len(f) >= 4 && slices.Contains([]string{"start", "stop", "restart"}, f[2]) {
			out = append(out, f[2]+" "+f[3])
		}
	}
	return out
}

func logLines(t *testing.T, h *sshlab.Host) int {
	t.Helper()
	data, err := os.ReadFile(h.Path(sshlab.SystemctlLog))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(string(data), "\n")) - 1
}

func get(url, key string) (int, string) { return sshlab.HTTPGet(url, key, 3*time.Second) }

func gpuReport(t *testing.T, h *sshlab.Host) vllm.GPUReport {
	t.Helper()
	r := nodeScript(t, h, "gpus")
	rep, err := vllm.ParseGPUReport([]byte(r.stdout))
	if r.code != 0 || err != nil {
		t.Fatalf("gpus: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	return rep
}

// checkPlaced checks a ready replica end to end: the unit on the host is what Spec.Unit renders
// for the placement the node chose, and the stand-in behind its port serves the model, with the
// API key only.
func checkPlaced(t *testing.T, h *sshlab.Host, spec vllm.Spec, rs vllm.ReplicaStatus) {
	t.Helper()
	var replica vllm.Replica
	for _, r := range spec.Replicas {
		if r.Index == rs.Index {
			replica = r
		}
	}
	want, err := spec.Unit(replica, vllm.Placement{
		Root: h.Root, RuntimePath: filepath.Join(h.ShimDir, "docker"), GPUs: rs.GPUs, Port: rs.Port,
		CacheDir: "/var/lib/inferstack/hf-cache",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(h.Path(vllm.UnitDir, rs.Unit))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s on the host is not Spec.Unit for GPUs %v, port %d:\n got:\n%s\nwant:\n%s", rs.Unit, rs.GPUs, rs.Port, got, want)
	}
	if rs.URL != fmt.Sprintf("http://%s:%d/v1", h.Address, rs.Port) || rs.Revision != testRevision || rs.ServedModelName != spec.ServedModelName {
		t.Errorf("replica status %+v", rs)
	}
	if code, body := get(rs.URL+"/models", apiKey(spec.Endpoint)); code != http.StatusOK || !strings.Contains(body, `"id":"`+spec.ServedModelName+`"`) {
		t.Errorf("GET %s/models with the key: %d %s", rs.URL, code, body)
	}
	if code, _ := get(rs.URL+"/models", ""); code != http.StatusUnauthorized {
		t.Errorf("GET %s/models without a key: %d, want 401", rs.URL, code)
	}
}

// checkKeyNotExposed fails when the API key shows in a process's command line or in the calls
// the shims logged; the env file holding it must be root's alone.
func checkKeyNotExposed(t *testing.T, h *sshlab.Host, endpoint string) {
	t.Helper()
	key := apiKey(endpoint)
	env := h.Path(vllm.EnvFilePath(endpoint))
	st, err := os.Stat(env)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600", env, st.Mode().Perm())
	}
	if dir, err := os.Stat(filepath.Dir(env)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, want 700 (%v)", filepath.Dir(env), dir.Mode().Perm(), err)
	}
	if data, _ := os.ReadFile(env); string(data) != "VLLM_API_KEY="+key+"\n" {
		t.Errorf("%s holds %q", env, data)
	}
	for _, log := range []string{sshlab.DockerLog, sshlab.SystemctlLog} {
		if data, _ := os.ReadFile(h.Path(log)); strings.Contains(string(data), key) {
			t.Errorf("the API key is in %s", log)
		}
	}
	out, err := exec.Command("ps", "-eo", "args").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), key) {
		t.Error("the API key shows in ps")
	}
	for _, u := range []string{"inferstack-" + endpoint + "-0.service"} {
		if data, _ := os.ReadFile(h.Path(vllm.UnitDir, u)); strings.Contains(string(data), key) {
			t.Errorf("the API key is in %s", u)
		}
	}
}

func TestNodeScriptShellcheck(t *testing.T) {
	t.Parallel()
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is not installed: run make tools")
	}
	script, _, err := vllm.NodeScript()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "inferstack-node")
	if err := os.WriteFile(path, script, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", path).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck finds problems in the node script: %v\n%s", err, out)
	}
}

// TestNodeConverge converges a shared host through an endpoint's life: create, converge again,
// a second endpoint beside it, a changed setting, a scale-down, status, and removal.
func TestNodeConverge(t *testing.T) {
	t.Parallel()
	h := labHost(t, "converge")
	a := testSpec(h, "tf-acc-test-a", 2)

	// Create: two replicas, one GPU and a port each from the ledger.
	st := mustApply(t, h, a)
	if !st.Changed || actions(st)[0] != vllm.ActionCreated || actions(st)[1] != vllm.ActionCreated {
		t.Errorf("first converge: changed %v, actions %v", st.Changed, actions(st))
	}
	if !slices.Equal(st.Replicas[0].GPUs, []int{0}) || !slices.Equal(st.Replicas[1].GPUs, []int{1}) ||
		st.Replicas[0].Port != vllm.DefaultPortBase || st.Replicas[1].Port != vllm.DefaultPortBase+1 {
		t.Errorf("placement: %+v", st.Replicas)
	}
	for _, rs := range st.Replicas {
		checkPlaced(t, h, a, rs)
	}
	checkKeyNotExposed(t, h, a.Endpoint)
	pid0, pid1 := containerPID(t, h, a.Endpoint, 0), containerPID(t, h, a.Endpoint, 1)

	// Converge again, the spec on stdin this time: nothing changes, nothing restarts.
	offset := logLines(t, h)
	r := nodeScript(t, h, `apply - <"${INFERSTACK_ROOT:-}/tmp/`+a.Endpoint+`.json"`)
	st, err := vllm.ParseStatus([]byte(r.stdout))
	if r.code != 0 || err != nil || !st.Ready {
		t.Fatalf("second converge: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if st.Changed || actions(st)[0] != vllm.ActionUnchanged || actions(st)[1] != vllm.ActionUnchanged {
		t.Errorf("second converge: changed %v, actions %v", st.Changed, actions(st))
	}
	if calls := unitCalls(t, h, offset); len(calls) > 0 {
		t.Errorf("second converge called systemctl %q", calls)
	}
	if containerPID(t, h, a.Endpoint, 0) != pid0 || containerPID(t, h, a.Endpoint, 1) != pid1 {
		t.Error("second converge replaced a container")
	}

	// A second endpoint on the same host gets the next free GPU and port.
	b := testSpec(h, "tf-acc-test-b", 1)
	b.Engine.MaxModelLen = 4096
	stb := mustApply(t, h, b)
	if rs := stb.Replicas[0]; !slices.Equal(rs.GPUs, []int{2}) || rs.Port != vllm.DefaultPortBase+2 {
		t.Errorf("second endpoint placed at GPUs %v port %d, want [2] and %d", rs.GPUs, rs.Port, vllm.DefaultPortBase+2)
	}
	pidB := containerPID(t, h, b.Endpoint, 0)

	// One replica's setting changes: only that replica restarts.
	a.Replicas[1].Port = 8100
	offset = logLines(t, h)
	st = mustApply(t, h, a)
	if got := actions(st); got[0] != vllm.ActionUnchanged || got[1] != vllm.ActionRestarted {
		t.Errorf("port change of replica 1: actions %v", got)
	}
	if calls := unitCalls(t, h, offset); !slices.Equal(calls, []string{"restart inferstack-tf-acc-test-a-1.service"}) {
		t.Errorf("port change of replica 1: systemctl %q, want one restart", calls)
	}
	if containerPID(t, h, a.Endpoint, 0) != pid0 || containerPID(t, h, b.Endpoint, 0) != pidB {
		t.Error("the port change of replica 1 restarted another replica")
	}
	checkPlaced(t, h, a, st.Replicas[1])

	// An endpoint setting changes: that endpoint's replicas restart, the other endpoint's do not.
	b.Engine.MaxModelLen = 8192
	offset = logLines(t, h)
	stb = mustApply(t, h, b)
	if actions(stb)[0] != vllm.ActionRestarted {
		t.Errorf("max_model_len change: actions %v", actions(stb))
	}
	if calls := unitCalls(t, h, offset); !slices.Equal(calls, []string{"restart inferstack-tf-acc-test-b-0.service"}) {
		t.Errorf("max_model_len change: systemctl %q", calls)
	}
	if containerPID(t, h, a.Endpoint, 0) != pid0 {
		t.Error("changing endpoint b restarted endpoint a")
	}
	checkPlaced(t, h, b, stb.Replicas[0])

	// The API key of b rotates: the env file changes, b restarts with the new key, a does not.
	rotated := apiKey(b.Endpoint) + "-rotated"
	bb, err := vllm.NodeBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	path := install(t, h, bb)
	if err := os.WriteFile(h.Path(vllm.SecretFilePath(b.Endpoint, "VLLM_API_KEY")), []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = nodeScript(t, h, `apply "${INFERSTACK_ROOT:-}`+path+`"`)
	if stb, err = vllm.ParseStatus([]byte(r.stdout)); r.code != 0 || err != nil || actions(stb)[0] != vllm.ActionRestarted {
		t.Errorf("key rotation: exit %d, %v, actions %v\n%s", r.code, err, actions(stb), r.stderr)
	}
	if code, _ := get(stb.Replicas[0].URL+"/models", rotated); code != http.StatusOK {
		t.Errorf("the rotated key gets %d", code)
	}
	if code, _ := get(stb.Replicas[0].URL+"/models", apiKey(b.Endpoint)); code != http.StatusUnauthorized {
		t.Errorf("the old key gets %d, want 401", code)
	}
	if containerPID(t, h, a.Endpoint, 0) != pid0 {
		t.Error("rotating b's key restarted endpoint a")
	}

	// A stopped replica is started again, without touching the others.
	if _, err := h.Exec("systemctl stop inferstack-tf-acc-test-a-0.service"); err != nil {
		t.Fatal(err)
	}
	st = mustApply(t, h, a)
	if got := actions(st); got[0] != vllm.ActionStarted || got[1] != vllm.ActionUnchanged {
		t.Errorf("after a stop: actions %v", got)
	}

	// Scale down: replica 1's unit goes and its GPU is free again.
	a.Replicas = a.Replicas[:1]
	st = mustApply(t, h, a)
	if !slices.Equal(st.Removed, []int{1}) || !st.Changed {
		t.Errorf("scale down: removed %v, changed %v", st.Removed, st.Changed)
	}
	if _, err := os.Stat(h.Path(vllm.UnitDir, "inferstack-tf-acc-test-a-1.service")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scale down left the unit of replica 1: %v", err)
	}
	if rep := gpuReport(t, h); !slices.Equal(rep.Free, []int{1, 3}) {
		t.Errorf("after scale down free GPUs %v, want [1 3]; allocations %+v", rep.Free, rep.Allocations)
	}
	if code, _ := get(fmt.Sprintf("http://%s:8100/health", h.Address), ""); code != 0 {
		t.Errorf("the removed replica still answers: %d", code)
	}

	// status probes without changing anything.
	offset = logLines(t, h)
	r = nodeScript(t, h, "status "+a.Endpoint)
	if st, err := vllm.ParseStatus([]byte(r.stdout)); r.code != 0 || err != nil || !st.Ready || st.Replicas[0].Port != vllm.DefaultPortBase {
		t.Errorf("status: exit %d, %v, %+v", r.code, err, st)
	}
	if calls := unitCalls(t, h, offset); len(calls) > 0 {
		t.Errorf("status called systemctl %q", calls)
	}

	// Remove: units, containers, env file, secrets and ledger entries go.
	r = nodeScript(t, h, "remove "+a.Endpoint)
	rm, err := vllm.ParseRemoval([]byte(r.stdout))
	if r.code != 0 || err != nil || !slices.Equal(rm.Removed, []int{0}) || !slices.Equal(rm.FreedGPUs, []int{0}) {
		t.Errorf("remove: exit %d, %v, %+v\n%s", r.code, err, rm, r.stderr)
	}
	for _, p := range []string{
		filepath.Join(vllm.UnitDir, "inferstack-tf-acc-test-a-0.service"), vllm.EnvFilePath(a.Endpoint),
		vllm.SpecPath(a.Endpoint), filepath.Dir(vllm.SecretFilePath(a.Endpoint, "VLLM_API_KEY")),
	} {
		if _, err := os.Stat(h.Path(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("remove left %s", p)
		}
	}
	if out, _ := h.Exec("docker ps -aq --filter name=inferstack-tf-acc-test-a-"); strings.TrimSpace(out) != "" {
		t.Errorf("remove left containers %q", out)
	}
	rep := gpuReport(t, h)
	if !slices.Equal(rep.Free, []int{0, 1, 3}) || len(rep.Allocations) != 1 || rep.Allocations[0].Endpoint != b.Endpoint {
		t.Errorf("after remove: free %v, allocations %+v", rep.Free, rep.Allocations)
	}
	if rep.GPUs[2].AllocatedTo == nil || rep.GPUs[2].AllocatedTo.Endpoint != b.Endpoint || rep.GPUs[0].Name != "NVIDIA L4" || rep.GPUs[0].MemoryMiB != 23034 {
		t.Errorf("GPU report: %+v", rep.GPUs)
	}
	// Removing twice is fine; so is removing the last endpoint.
	for _, ep := range []string{a.Endpoint, b.Endpoint} {
		if r := nodeScript(t, h, "remove "+ep); r.code != 0 {
			t.Errorf("remove %s: exit %d\n%s", ep, r.code, r.stderr)
		}
	}
	if rep := gpuReport(t, h); len(rep.Free) != 4 || len(rep.Allocations) != 0 {
		t.Errorf("after removing everything: %+v", rep)
	}
}

// TestNodeParallel converges endpoints on one host at the same time: the ledger, under its
// lock, gives each its own GPUs; what does not fit is refused, saying why.
func TestNodeParallel(t *testing.T) {
	t.Parallel()
	h := labHost(t, "parallel")
	specs := []vllm.Spec{testSpec(h, "tf-acc-test-p1", 1), testSpec(h, "tf-acc-test-p2", 1), testSpec(h, "tf-acc-test-p3", 1)}
	specs[0].Engine.TensorParallelSize = 2
	bundles := make([]vllm.Bundle, len(specs))
	for i, s := range specs {
		b, err := vllm.NodeBundle(s)
		if err != nil {
			t.Fatal(err)
		}
		bundles[i] = b
		install(t, h, b)
	}
	results := make([]result, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := h.Exec(fmt.Sprintf(`INFERSTACK_POLL_INTERVAL=%s "$INFERSTACK_ROOT%s" apply "$INFERSTACK_ROOT/tmp/%s.json"`, pollInterval, vllm.ScriptPath, s.Endpoint))
			results[i] = result{stdout: out}
			var e *sshlab.ExecError
			if errors.As(err, &e) {
				results[i] = result{stdout: e.Stdout, stderr: e.Stderr, code: e.ExitStatus()}
			}
		}()
	}
	wg.Wait()
	held := map[int]string{}
	for i, r := range results {
		st, err := vllm.ParseStatus([]byte(r.stdout))
		if r.code != 0 || err != nil || !st.Ready {
			t.Fatalf("%s: exit %d, %v, %+v\n%s", specs[i].Endpoint, r.code, err, st, r.stderr)
		}
		want := specs[i].Engine.TensorParallelSize
		if want == 0 {
			want = 1
		}
		if got := st.Replicas[0].GPUs; len(got) != want {
			t.Errorf("%s got GPUs %v, want %d", specs[i].Endpoint, got, want)
		}
		for _, g := range st.Replicas[0].GPUs {
			if other, dup := held[g]; dup {
				t.Errorf("GPU %d given to %s and %s", g, other, specs[i].Endpoint)
			}
			held[g] = specs[i].Endpoint
		}
	}
	if len(held) != 4 {
		t.Errorf("GPUs held: %v, want all four", held)
	}
	ports := map[int]bool{}
	for _, a := range gpuReport(t, h).Allocations {
		if ports[a.Port] {
			t.Errorf("port %d given twice", a.Port)
		}
		ports[a.Port] = true
	}

	// The host is full: a fourth endpoint is refused, and so is one asking for a held GPU.
	full := testSpec(h, "tf-acc-test-p4", 1)
	st, r := apply(t, h, full)
	if r.code != vllm.ExitNoRoom || st.Ready || !strings.Contains(st.Error, "replica 0 needs 1 GPUs, 0 of 4 are free") || !strings.Contains(st.Error, "GPU 0: tf-acc-test-p") {
		t.Errorf("full host: exit %d, error %q", r.code, st.Error)
	}
	fixed := testSpec(h, "tf-acc-test-p5", 0)
	fixed.Replicas = []vllm.Replica{{Index: 0, GPUs: []int{3}}}
	st, r = apply(t, h, fixed)
	if r.code != vllm.ExitNoRoom || !strings.Contains(st.Error, "GPU 3 is held by endpoint "+held[3]+"/0") {
		t.Errorf("held GPU: exit %d, error %q", r.code, st.Error)
	}
	for _, s := range append(specs, full, fixed) {
		if r := nodeScript(t, h, "remove "+s.Endpoint); r.code != 0 {
			t.Errorf("remove %s: exit %d\n%s", s.Endpoint, r.code, r.stderr)
		}
	}
	if rep := gpuReport(t, h); len(rep.Free) != 4 {
		t.Errorf("after removal free GPUs %v", rep.Free)
	}
}

// TestNodeNotReady covers replicas that never become healthy and a secret that is missing: the
// script exits non-zero and its status says why.
func TestNodeNotReady(t *testing.T) {
	t.Parallel()
	h := labHost(t, "broken")
	tests := []struct {
		name   string
		env    map[string]string
		reason string
		logs   string
	}{
		// The stand-in fails like a vLLM out of GPU memory: it exits 1, systemd restarts it.
		{"fails", map[string]string{"INFERSTACK_STANDIN_FAIL": "1"}, "no answer", "CUDA out of memory"},
		// The stand-in loads for ever: /health answers 503.
		{"hangs", map[string]string{"INFERSTACK_STANDIN_FAIL": "hang"}, "/health: HTTP 503", "Starting vLLM API server"},
	}
	for _, tt := range tests {
		spec := testSpec(h, "tf-acc-test-"+tt.name, 1)
		spec.Env = tt.env
		// The hanging stand-in must be up (answering 503) before the timeout: on a loaded machine
		// it takes more than 3 s to start.
		spec.ReadyTimeout = 3 * time.Second
		if tt.name == "hangs" {
			spec.ReadyTimeout = 10 * time.Second
		}
		start := time.Now()
		st, r := apply(t, h, spec)
		took := time.Since(start)
		if r.code != vllm.ExitNotReady || st.Ready || len(st.Replicas) != 1 {
			t.Fatalf("%s: exit %d, status %+v", tt.name, r.code, st)
		}
		rs := st.Replicas[0]
		prefix := fmt.Sprintf("not ready after %ds: ", int(spec.ReadyTimeout.Seconds()))
		if rs.Ready || !strings.HasPrefix(rs.Reason, prefix) || !strings.Contains(rs.Reason, tt.reason) {
			t.Errorf("%s: reason %q, want it to say %q", tt.name, rs.Reason, tt.reason)
		}
		if !strings.Contains(strings.Join(rs.Logs, "\n"), tt.logs) {
			t.Errorf("%s: last log lines lack %q:\n%s", tt.name, tt.logs, strings.Join(rs.Logs, "\n"))
		}
		if took > spec.ReadyTimeout+12*time.Second {
			t.Errorf("%s: a %s readiness timeout took %s", tt.name, spec.ReadyTimeout, took)
		}
		if r := nodeScript(t, h, "remove "+spec.Endpoint); r.code != 0 {
			t.Errorf("remove: exit %d\n%s", r.code, r.stderr)
		}
	}

	// A secret file the caller did not write.
	spec := testSpec(h, "tf-acc-test-nokey", 1)
	b, err := vllm.NodeBundle(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := install(t, h, b)
	if err := os.Remove(h.Path(vllm.SecretFilePath(spec.Endpoint, "VLLM_API_KEY"))); err != nil {
		t.Fatal(err)
	}
	r := nodeScript(t, h, `apply "${INFERSTACK_ROOT:-}`+path+`"`)
	st, err := vllm.ParseStatus([]byte(r.stdout))
	if r.code != vllm.ExitUsage || err != nil || !strings.Contains(st.Error, "secret file") || !strings.Contains(st.Error, "does not exist") {
		t.Errorf("missing secret: exit %d, %v, %+v\n%s", r.code, err, st, r.stderr)
	}
	if _, err := os.Stat(h.Path(vllm.UnitDir, vllm.UnitName(spec.Endpoint, 0))); !errors.Is(err, os.ErrNotExist) {
		t.Error("a converge without its secret wrote a unit")
	}

	// Bad usage.
	for args, code := range map[string]int{"": vllm.ExitUsage, "frobnicate": vllm.ExitUsage, "status Bad_Name": vllm.ExitUsage, "status tf-acc-test-absent": vllm.ExitUsage} {
		if r := nodeScript(t, h, args); r.code != code {
			t.Errorf("inferstack-node %s: exit %d, want %d", args, r.code, code)
		}
	}
	if r := nodeScript(t, h, "version"); r.code != 0 || !strings.Contains(r.stdout, b.ScriptVersion) || !strings.Contains(r.stdout, "spec schema "+strconv.Itoa(vllm.SpecSchema)) {
		t.Errorf("version: %q", r.stdout)
	}
}
