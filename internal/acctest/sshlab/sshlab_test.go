//go:build linux

package sshlab_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// The package's tests share one lab of two hosts; tests that stop hosts start labs of their own.
var lab *sshlab.Lab

var (
	l4   = sshlab.GPU{Model: "NVIDIA L4", MemoryMiB: 23034}
	h100 = sshlab.GPU{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sshlab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lab, err = sshlab.Start(dir,
		sshlab.HostSpec{Name: "gpu-a", GPUs: []sshlab.GPU{l4, l4}},
		sshlab.HostSpec{Name: "gpu-b", GPUs: []sshlab.GPU{h100}, Standin: sshlab.Standin{ReadyAfter: 300 * time.Millisecond}},
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the SSH lab:", err)
		return 1
	}
	code := m.Run()
	if err := lab.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "closing the SSH lab:", err)
		code = 1
	}
	if left := labProcesses(dir); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes left after Close:\n%s\n", strings.Join(left, "\n"))
		code = 1
	}
	return code
}

// labProcesses lists live processes that belong to the lab in dir: by command line (pgrep -f)
// and by the INFERSTACK_ROOT every shim-started process carries.
func labProcesses(dir string) []string {
	var left []string
	if out, err := exec.Command("pgrep", "-af", dir).Output(); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line != "" {
				left = append(left, "pgrep: "+line)
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if strings.Contains(string(env), "INFERSTACK_ROOT="+dir+"/") {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			left = append(left, "environ: "+e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return left
}

func host(t *testing.T, name string) *sshlab.Host {
	t.Helper()
	h := lab.Host(name)
	if h == nil {
		t.Fatalf("no host %s", name)
	}
	return h
}

func exec1(t *testing.T, h *sshlab.Host, cmd string) string {
	t.Helper()
	out, err := h.Exec(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exitStatus runs cmd and returns its output and exit status.
func exitStatus(t *testing.T, h *sshlab.Host, cmd string) (string, int) {
	t.Helper()
	out, err := h.Exec(cmd)
	if err == nil {
		return out, 0
	}
	var e *sshlab.ExecError
	if !errors.As(err, &e) || e.ExitStatus() < 0 {
		t.Fatal(err)
	}
	return out + e.Stderr, e.ExitStatus()
}

// get does a GET (with a bearer key when key is set) and returns status and body; 0 when the
// connection fails.
func get(url, key string) (int, string) {
	return do(http.MethodGet, url, key, "")
}

func do(method, url, key, body string) (int, string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealthy polls base/health until 200 and returns the statuses seen before.
func waitHealthy(t *testing.T, base string) []int {
	t.Helper()
	var seen []int
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := get(base+"/health", "")
		if code == http.StatusOK {
			return seen
		}
		if len(seen) == 0 || seen[len(seen)-1] != code {
			seen = append(seen, code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/health never answered 200 (saw %v)", base, seen)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func freePort(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHostsAreDistinct(t *testing.T) {
	t.Parallel()
	a, b := host(t, "gpu-a"), host(t, "gpu-b")
	if a.Address == b.Address || a.Root == b.Root || a.ShimDir == b.ShimDir || a.HostKey == b.HostKey {
		t.Fatalf("hosts share something: %+v %+v", a, b)
	}
	for _, h := range lab.Hosts {
		if !strings.HasPrefix(h.Address, "127.0.0.") || h.Address == "127.0.0.1" || h.User != "root" ||
			!strings.HasPrefix(h.HostKey, "ssh-ed25519 AAAA") {
			t.Errorf("host %+v", h)
		}
		want := "[" + h.Address + "]:" + strconv.Itoa(h.Port) + " " + h.HostKey
		if h.KnownHostsLine() != want {
			t.Errorf("KnownHostsLine() = %q, want %q", h.KnownHostsLine(), want)
		}
	}
	if !strings.HasPrefix(lab.UserPrivateKeyPEM, "-----BEGIN OPENSSH PRIVATE KEY-----") || !strings.HasPrefix(lab.UserPublicKey, "ssh-ed25519 ") {
		t.Errorf("user key: %q / %q", lab.UserPrivateKeyPEM[:40], lab.UserPublicKey)
	}
}

func TestNvidiaSMI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, cmd, want string
	}{
		{"gpu-a", "nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits",
			"0, NVIDIA L4, 23034, 580.95.05\n1, NVIDIA L4, 23034, 580.95.05\n"},
		{"gpu-b", "nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits",
			"0, NVIDIA H100 80GB HBM3, 81559, 580.95.05\n"},
		{"gpu-b", "nvidia-smi --query-gpu=memory.total,name --format=csv,noheader",
			"81559 MiB, NVIDIA H100 80GB HBM3\n"},
		{"gpu-a", "nvidia-smi --query-gpu=driver_version,index --format=csv",
			"driver_version, index\n580.95.05, 0\n580.95.05, 1\n"},
		{"gpu-a", "nvidia-smi --query-gpu=name,memory.total --format=csv,nounits -i 1",
			"name, memory.total [MiB]\nNVIDIA L4, 23034\n"},
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.cmd[len("nvidia-smi "):], func(t *testing.T) {
			t.Parallel()
			if got := exec1(t, host(t, tt.host), tt.cmd); got != tt.want {
				t.Errorf("%s on %s:\n got %q\nwant %q", tt.cmd, tt.host, got, tt.want)
			}
		})
	}
	t.Run("list and table", func(t *testing.T) {
		t.Parallel()
		out := exec1(t, host(t, "gpu-a"), "nvidia-smi -L; nvidia-smi")
		for _, want := range []string{"GPU 0: NVIDIA L4 (UUID: GPU-", "GPU 1: NVIDIA L4 (UUID: GPU-", "Driver Version: 580.95.05", "CUDA Version: 13.0", "23034MiB"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		out, code := exitStatus(t, host(t, "gpu-a"), "nvidia-smi --query-gpu=bogus --format=csv")
		if code == 0 || !strings.Contains(out, `Field "bogus" is not a valid field to query.`) {
			t.Errorf("exit %d: %s", code, out)
		}
	})
}

func TestStrictHostKeyChecking(t *testing.T) {
	t.Parallel()
	a, b := host(t, "gpu-a"), host(t, "gpu-b")
	signer, err := ssh.ParsePrivateKey([]byte(lab.UserPrivateKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	dial := func(knownHostsLine string) error {
		f := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(f, []byte(knownHostsLine+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cb, err := knownhosts.New(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ssh.Dial("tcp", net.JoinHostPort(a.Address, strconv.Itoa(a.Port)), &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second,
		})
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	if err := dial(a.KnownHostsLine()); err != nil {
		t.Fatalf("the right key is refused: %v", err)
	}
	// gpu-a's address with gpu-b's key: a changed host key.
	wrong := "[" + a.Address + "]:" + strconv.Itoa(a.Port) + " " + b.HostKey
	err = dial(wrong)
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
		t.Fatalf("a wrong host key: err = %v, want a knownhosts.KeyError with the known key", err)
	}
	// A host not in known_hosts at all.
	err = dial(b.KnownHostsLine())
	if !errors.As(err, &keyErr) || len(keyErr.Want) != 0 {
		t.Fatalf("an unknown host: err = %v, want a knownhosts.KeyError without keys", err)
	}
}

func TestSessionEnvironment(t *testing.T) {
	t.Parallel()
	for _, h := range lab.Hosts {
		out := exec1(t, h, `echo "$INFERSTACK_ROOT"; echo "$INFERSTACK_SHIMS"; command -v docker podman systemctl journalctl nvidia-smi; hostname`)
		want := strings.Join([]string{
			h.Root, h.ShimDir,
			filepath.Join(h.ShimDir, "docker"), filepath.Join(h.ShimDir, "podman"), filepath.Join(h.ShimDir, "systemctl"),
			filepath.Join(h.ShimDir, "journalctl"), filepath.Join(h.ShimDir, "nvidia-smi"), h.Name,
		}, "\n") + "\n"
		if out != want {
			t.Errorf("on %s:\n got %q\nwant %q", h.Name, out, want)
		}
	}
	// Without ShimPATH the session's PATH (root's login files prepend to it) does not reach the
	// shims: they win because the command puts them first, never by luck.
	c, err := host(t, "gpu-a").Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, _ := s.Output(`command -v docker || true`)
	if strings.Contains(string(out), host(t, "gpu-a").ShimDir) {
		t.Errorf("without ShimPATH docker is %q: the shims are on PATH by accident", out)
	}
}

func TestDockerRunDetached(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-b") // stand-ins here take 300ms to "load"
	const key = "sk-test-4f1d9a"
	const port = 8101
	out := exec1(t, h, `set -e
dir="${INFERSTACK_ROOT:-}/var/lib/inferstack"
mkdir -p "$dir"
(umask 077 && printf 'VLLM_API_KEY=%s\nHF_TOKEN=hf_secret\n' '`+key+`' > "$dir/detached.env")
docker pull vllm/vllm-openai:v0.11.0 >/dev/null
docker run -d --name tf-acc-test-detached --gpus '"device=0"' --ipc=host -p `+strconv.Itoa(port)+`:8000 \
  --env-file "$dir/detached.env" -e EXTRA=visible -v "$dir/hf:/root/.cache/huggingface" \
  vllm/vllm-openai:v0.11.0 meta-llama/Llama-3.1-8B-Instruct --served-model-name chat chat-alias --max-model-len 8192`)
	id := strings.TrimSpace(out)
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q, want a container id", out)
	}
	t.Cleanup(func() { _, _ = h.Exec("docker rm -f tf-acc-test-detached") })

	// No IP in -p: the stand-in listens on the host's own address.
	base := "http://" + net.JoinHostPort(h.Address, strconv.Itoa(port))
	// Until the stand-in listens a probe gets no answer (0), as with vLLM's process starting; its
	// first answer must be 503 (loading), not 200.
	seen := waitHealthy(t, base)
	answers := slices.DeleteFunc(slices.Clone(seen), func(c int) bool { return c == 0 })
	if len(answers) == 0 || answers[0] != http.StatusServiceUnavailable {
		t.Errorf("before ready /health answered %v, want 503 first", seen)
	}

	code, body := get(base+"/v1/models", key)
	if code != http.StatusOK {
		t.Fatalf("models: %d %s", code, body)
	}
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			Root        string `json:"root"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &models); err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 2 || models.Data[0].ID != "chat" || models.Data[1].ID != "chat-alias" ||
		models.Data[0].Root != "meta-llama/Llama-3.1-8B-Instruct" || models.Data[0].MaxModelLen != 8192 {
		t.Errorf("models = %+v", models.Data)
	}

	chat := `{"model":"chat","messages":[{"role":"user","content":"hello lab"}]}`
	if code, body := do(http.MethodPost, base+"/v1/chat/completions", "", chat); code != http.StatusUnauthorized {
		t.Errorf("chat without key: %d %s, want 401", code, body)
	}
	if code, body := do(http.MethodPost, base+"/v1/chat/completions", "wrong", chat); code != http.StatusUnauthorized {
		t.Errorf("chat with a wrong key: %d %s, want 401", code, body)
	}
	code, body = do(http.MethodPost, base+"/v1/chat/completions", key, chat)
	if code != http.StatusOK || !strings.Contains(body, `"content":"echo: hello lab"`) || !strings.Contains(body, `"usage"`) {
		t.Errorf("chat with key: %d %s", code, body)
	}

	// What the host says about it.
	out = exec1(t, h, `docker ps --format '{{.Names}} {{.State}}' --filter name=tf-acc-test-detached
docker inspect --format '{{.State.Running}} {{.Config.Image}} {{json .Config.Env}}' tf-acc-test-detached
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits
curl -fsS http://127.0.0.1:`+strconv.Itoa(port)+`/health && echo curl-ok
docker logs --tail 50 tf-acc-test-detached | grep -c 'Application startup complete'`)
	want := "tf-acc-test-detached running\ntrue vllm/vllm-openai:v0.11.0 [\"VLLM_API_KEY\",\"HF_TOKEN\",\"EXTRA\"]\n75034\ncurl-ok\n1\n"
	if out != want {
		t.Errorf("host view:\n got %q\nwant %q", out, want)
	}
	var inspect []struct {
		Args       []string
		HostConfig struct {
			DeviceRequests []struct{ DeviceIDs []string }
			PortBindings   map[string][]struct{ HostIp, HostPort string }
			IpcMode        string
		}
	}
	if err := json.Unmarshal([]byte(exec1(t, h, "docker inspect tf-acc-test-detached")), &inspect); err != nil {
		t.Fatal(err)
	}
	if len(inspect) != 1 || inspect[0].Args[0] != "serve" || inspect[0].HostConfig.IpcMode != "host" ||
		len(inspect[0].HostConfig.DeviceRequests) != 1 || strings.Join(inspect[0].HostConfig.DeviceRequests[0].DeviceIDs, ",") != "0" ||
		inspect[0].HostConfig.PortBindings["8000/tcp"][0].HostPort != strconv.Itoa(port) {
		t.Errorf("inspect = %+v", inspect)
	}

	// The call log has env names, never values.
	log, err := os.ReadFile(h.Path(sshlab.DockerLog))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{key, "hf_secret", "EXTRA=visible"} {
		if strings.Contains(string(log), secret) {
			t.Errorf("docker call log holds %q:\n%s", secret, log)
		}
	}
	if !strings.Contains(string(log), "docker run -d --name tf-acc-test-detached") || !strings.Contains(string(log), "-e EXTRA ") {
		t.Errorf("docker call log:\n%s", log)
	}

	exec1(t, h, "docker rm -f tf-acc-test-detached")
	if code, _ := get(base+"/health", ""); code != 0 {
		t.Errorf("after docker rm -f /health still answers %d", code)
	}
	if out := exec1(t, h, "docker ps -aq --filter name=tf-acc-test-detached"); out != "" {
		t.Errorf("after docker rm -f: docker ps -a lists %q", out)
	}
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-a")
	port := freePort(t, "127.0.0.1")
	const unit = "inferstack-tf-acc-test-unit.service"
	const name = "tf-acc-test-unit"
	// The node script's shape: a unit per replica running `docker run --rm` in the foreground,
	// the key in a root-only env file, the GPUs quoted for docker's CSV parser.
	script := fmt.Sprintf(`set -e
root="${INFERSTACK_ROOT:-}"
mkdir -p "$root/var/lib/inferstack"
(umask 077 && echo 'VLLM_API_KEY=unit-key' > "$root/var/lib/inferstack/%[1]s.env")
cat > "$root/etc/systemd/system/%[2]s" <<EOF
[Unit]
Description=inferstack replica %[1]s
[Service]
ExecStartPre=-/usr/bin/docker rm -f %[1]s
ExecStart=/usr/bin/docker run --rm --name %[1]s --gpus '"device=1"' -p 127.0.0.1:%[3]d:8000 \
  --env-file $root/var/lib/inferstack/%[1]s.env vllm/vllm-openai:v0.11.0 org/model --served-model-name unit-model
ExecStop=/usr/bin/docker stop %[1]s
Restart=on-failure
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now %[2]s 2>/dev/null
systemctl is-active %[2]s
systemctl is-enabled %[2]s`, name, unit, port)
	if out := exec1(t, h, script); out != "active\nenabled\n" {
		t.Fatalf("is-active, is-enabled = %q", out)
	}
	t.Cleanup(func() {
		_, _ = h.Exec("systemctl disable --now " + unit + "; rm -f \"$INFERSTACK_ROOT/etc/systemd/system/" + unit + "\"")
	})

	// -p 127.0.0.1:PORT:8000 listens on 127.0.0.1:PORT.
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitHealthy(t, base)
	if code, body := get(base+"/v1/models", "unit-key"); code != http.StatusOK || !strings.Contains(body, `"id":"unit-model"`) {
		t.Errorf("models: %d %s", code, body)
	}
	if code, _ := get(base+"/v1/models", ""); code != http.StatusUnauthorized {
		t.Errorf("models without key: %d, want 401", code)
	}

	out := exec1(t, h, fmt.Sprintf(`systemctl show -p ActiveState,SubState %[1]s
systemctl list-units --all --plain --no-legend 'inferstack-*'
docker ps --format '{{.Names}}' --filter name=%[2]s
journalctl -u %[1]s -n 200 --no-pager -o cat | grep -c 'Application startup complete'`, unit, name))
	want := fmt.Sprintf("ActiveState=active\nSubState=running\n%s loaded active running inferstack replica %s\n%s\n1\n", unit, name, name)
	if out != want {
		t.Errorf("host view:\n got %q\nwant %q", out, want)
	}

	out, code := exitStatus(t, h, fmt.Sprintf("systemctl stop %[1]s; systemctl is-active %[1]s", unit))
	if code != 3 || out != "inactive\n" {
		t.Errorf("after stop is-active: %q exit %d, want inactive exit 3", out, code)
	}
	if code, _ := get(base+"/health", ""); code != 0 {
		t.Errorf("after stop the stand-in still answers %d", code)
	}
	if out := exec1(t, h, "docker ps -aq --filter name="+name); out != "" {
		t.Errorf("after stop docker ps -a lists %q (--rm)", out)
	}
	if n := standins(t, strconv.Itoa(port)); n != 0 {
		t.Errorf("%d stand-in processes for port %d left after stop", n, port)
	}
}

// standins counts live stand-in processes whose arguments mention word.
func standins(t *testing.T, word string) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", "vllm-standin serve .*"+word).Output()
	if err != nil {
		return 0 // pgrep exits 1 when nothing matches
	}
	return len(strings.Fields(string(out)))
}

func TestSystemdSemantics(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-a")
	t.Run("ExecStartPre fails", func(t *testing.T) {
		t.Parallel()
		out, code := exitStatus(t, h, `printf '[Service]\nExecStartPre=/bin/false\nExecStart=/bin/sleep 60\n' > "$INFERSTACK_ROOT/etc/systemd/system/tf-acc-test-pre.service"
systemctl start tf-acc-test-pre; echo "start=$?"; systemctl is-active tf-acc-test-pre`)
		if code != 3 || !strings.Contains(out, "start=1\nfailed\n") || !strings.Contains(out, "Job for tf-acc-test-pre.service failed") {
			t.Errorf("exit %d: %s", code, out)
		}
	})
	t.Run("vLLM fails and restarts", func(t *testing.T) {
		t.Parallel()
		// No start limit (systemd's default, 5 starts in 10s, could end the loop within the second).
		out := exec1(t, h, `cat > "$INFERSTACK_ROOT/etc/systemd/system/tf-acc-test-crash.service" <<'EOF'
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=/usr/bin/docker run --rm --name tf-acc-test-crash --gpus all -e INFERSTACK_STANDIN_FAIL=1 vllm/vllm-openai:v0.11.0 org/model --gpu-memory-utilization 0.01
Restart=on-failure
RestartSec=100ms
EOF
systemctl start tf-acc-test-crash
for _ in $(seq 100); do # up to 20 s on a loaded machine; a few 100 ms restarts on an idle one
  [ "$(systemctl show -p NRestarts --value tf-acc-test-crash)" -ge 2 ] && break
  sleep 0.2
done
systemctl show -p NRestarts --value tf-acc-test-crash
journalctl -u tf-acc-test-crash -o cat | grep -m1 'CUDA out of memory'
systemctl stop tf-acc-test-crash; systemctl is-active tf-acc-test-crash || true`)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if n, err := strconv.Atoi(lines[0]); err != nil || n < 2 || len(lines) != 3 || lines[2] != "inactive" ||
			!strings.Contains(lines[1], "torch.OutOfMemoryError: CUDA out of memory") {
			t.Errorf("restarts, journal, state:\n%s", out)
		}
	})
	t.Run("start limit", func(t *testing.T) {
		t.Parallel()
		// A unit that exits at once, restarted after 100ms: the third start within the minute is
		// the last; the restart after it is refused and the unit is failed (start-limit-hit).
		// Starts are refused too until reset-failed, which clears the count and NRestarts.
		out := exec1(t, h, `u=tf-acc-test-limit
systemctl reset-failed $u 2>/dev/null; rm -f "$INFERSTACK_ROOT/var/log/journal/$u.service.log" # -count=N
cat > "$INFERSTACK_ROOT/etc/systemd/system/$u.service" <<'EOF'
[Unit]
Description=crash loop
StartLimitIntervalSec=1min
StartLimitBurst=3
[Service]
ExecStart=/bin/sh -c 'echo boom; exit 3'
Restart=on-failure
RestartSec=100ms
EOF
failed() { for _ in $(seq 100); do systemctl is-failed -q $u && break; sleep 0.1; done; }
systemctl start $u
failed
sleep 0.5
systemctl show -p ActiveState,SubState,Result,NRestarts,ExecMainStatus,StartLimitBurst,StartLimitIntervalUSec $u
echo "started=$(journalctl -u $u -o cat | grep -c '^Started crash loop')"
journalctl -u $u -o cat | tail -n 3
systemctl start $u 2>&1; echo "start=$?"
systemctl restart $u 2>/dev/null; echo "restart=$?"
systemctl show -p ActiveState,Result $u
systemctl reset-failed $u; echo "reset-failed=$?"
systemctl show -p ActiveState,Result,NRestarts $u
systemctl start $u; echo "start=$?"
failed
systemctl show -p Result,NRestarts $u
echo "started=$(journalctl -u $u -o cat | grep -c '^Started crash loop')"`)
		want := `ActiveState=failed
SubState=failed
Result=start-limit-hit
NRestarts=3
ExecMainStatus=3
StartLimitBurst=3
StartLimitIntervalUSec=1min
started=3
tf-acc-test-limit.service: Start request repeated too quickly.
tf-acc-test-limit.service: Failed with result 'start-limit-hit'.
Failed to start crash loop.
Job for tf-acc-test-limit.service failed because the start of the service was attempted too often.
See "systemctl status tf-acc-test-limit.service" and "journalctl -xeu tf-acc-test-limit.service" for details.
To force a start use "systemctl reset-failed tf-acc-test-limit.service"
followed by "systemctl start tf-acc-test-limit.service" again.
start=1
restart=1
ActiveState=failed
Result=start-limit-hit
reset-failed=0
ActiveState=inactive
Result=success
NRestarts=0
start=0
Result=start-limit-hit
NRestarts=3
started=6
`
		if out != want {
			t.Errorf("got:\n%s\nwant:\n%s", out, want)
		}

		// Once the window has passed, a start goes ahead again without reset-failed (and the two
		// starts of the new window are all it gets).
		out = exec1(t, h, `u=tf-acc-test-window
systemctl reset-failed $u 2>/dev/null; rm -f "$INFERSTACK_ROOT/var/log/journal/$u.service.log" # -count=N
printf '[Unit]\nDescription=short window\nStartLimitIntervalSec=5s\nStartLimitBurst=2\n[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=100ms\n' > "$INFERSTACK_ROOT/etc/systemd/system/$u.service"
failed() { for _ in $(seq 100); do systemctl is-failed -q $u && break; sleep 0.1; done; }
started() { journalctl -u $u -o cat | grep -c '^Started short window'; }
systemctl start $u
failed
systemctl show -p Result --value $u
before=$(started)
sleep 5.2
systemctl start $u; echo "start=$?"
failed
systemctl show -p Result --value $u
echo "started=$(($(started) - before))"`)
		if want := "start-limit-hit\nstart=0\nstart-limit-hit\nstarted=2\n"; out != want {
			t.Errorf("after the window: got:\n%s\nwant:\n%s", out, want)
		}
	})
	t.Run("daemon-reload and templates", func(t *testing.T) {
		t.Parallel()
		// A template instance; a changed unit file is used only after daemon-reload, with
		// systemd's warning before it.
		out := exec1(t, h, `d="$INFERSTACK_ROOT/etc/systemd/system"
printf '[Unit]\nDescription=one %%i\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/echo first %%i\n' > "$d/tf-acc-test-tpl@.service"
systemctl start tf-acc-test-tpl@x
sed -i 's/first/second/' "$d/tf-acc-test-tpl@.service"
systemctl restart tf-acc-test-tpl@x 2>&1
systemctl daemon-reload
systemctl restart tf-acc-test-tpl@x
systemctl is-active tf-acc-test-tpl@x.service
journalctl -u tf-acc-test-tpl@x -o cat | grep -v systemd | grep -v -e '^Finished' -e '^Stopp'`)
		want := "Warning: The unit file, source configuration file or drop-ins of tf-acc-test-tpl@x.service changed on disk. " +
			"Run 'systemctl daemon-reload' to reload units.\nactive\nfirst x\nfirst x\nsecond x\n"
		if out != want {
			t.Errorf("got:\n%s\nwant:\n%s", out, want)
		}
	})
	t.Run("no installation config", func(t *testing.T) {
		t.Parallel()
		out, _ := exitStatus(t, h, `printf '[Service]\nExecStart=/bin/true\n' > "$INFERSTACK_ROOT/etc/systemd/system/tf-acc-test-noinstall.service"
systemctl enable tf-acc-test-noinstall 2>&1; systemctl is-enabled tf-acc-test-noinstall`)
		if !strings.Contains(out, "no installation config") || !strings.Contains(out, "static") {
			t.Errorf("enable of a unit without [Install]: %s", out)
		}
	})
}

func TestDockerFaithfulErrors(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-a")
	tests := []struct {
		name, cmd, want string
		code            int
	}{
		{
			name: "unquoted device list is docker's CSV trap",
			cmd:  `docker run --rm --name tf-acc-test-csv --gpus device=0,1 img m`,
			want: "cannot set both Count and DeviceIDs on device request", code: 125,
		},
		{
			name: "unknown GPU",
			cmd:  `docker run --rm --name tf-acc-test-gpu9 --gpus '"device=9"' img m`,
			want: "nvidia-container-cli: device error: 9: unknown device", code: 125,
		},
		{
			name: "tensor parallel larger than the GPUs given",
			cmd:  `docker run --rm --name tf-acc-test-tp --gpus '"device=0"' img m --tensor-parallel-size 2 --gpu-memory-utilization 0.01`,
			want: "World size (2) is larger than the number of available GPUs (1)", code: 1,
		},
		{
			name: "no GPUs given",
			cmd:  `docker run --rm --name tf-acc-test-nogpu img m`,
			want: "Failed to infer device type", code: 1,
		},
		{
			name: "missing env file",
			cmd:  `docker run --rm --name tf-acc-test-envf --env-file /nonexistent.env img m`,
			want: "open /nonexistent.env: no such file or directory", code: 125,
		},
		{
			name: "no such container",
			cmd:  `docker stop tf-acc-test-nothing`,
			want: "No such container: tf-acc-test-nothing", code: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, code := exitStatus(t, h, tt.cmd)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("%s: exit %d (want %d):\n%s", tt.cmd, code, tt.code, out)
			}
		})
	}
}

func TestGPUMemoryIsShared(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-a") // GPU 0 is this test's; other tests' containers there take 1% at most
	t.Cleanup(func() { _, _ = h.Exec("docker rm -f tf-acc-test-mem1 tf-acc-test-mem2") })
	// vLLM takes its --gpu-memory-utilization share of the GPU at start-up and refuses to start
	// when less is free: two replicas on one GPU fail unless their shares fit.
	out, code := exitStatus(t, h, `docker run -d --name tf-acc-test-mem1 --gpus '"device=0"' -p 8201:8000 img m --gpu-memory-utilization 0.6 >/dev/null
docker run --rm --name tf-acc-test-mem2 --gpus '"device=0"' -p 8202:8000 img m`)
	if code != 1 || !strings.Contains(out, "Free memory on device cuda:0") {
		t.Errorf("second replica on a full GPU: exit %d:\n%s", code, out)
	}
	out = exec1(t, h, `docker run -d --name tf-acc-test-mem2 --gpus '"device=0"' -p 8202:8000 img m --gpu-memory-utilization 0.3 >/dev/null
sleep 0.2
echo "$(docker inspect -f '{{.State.Pid}}' tf-acc-test-mem1), 13820"
echo "$(docker inspect -f '{{.State.Pid}}' tf-acc-test-mem2), 6910"
echo --
nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits -i 0`)
	want, apps, _ := strings.Cut(out, "--\n")
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") { // 23034 MiB x 0.6 and x 0.3
		if !strings.Contains(apps, line+"\n") {
			t.Errorf("nvidia-smi compute apps lack %q:\n%s", line, apps)
		}
	}
}

func TestPodman(t *testing.T) {
	t.Parallel()
	h := host(t, "gpu-a")
	t.Cleanup(func() { _, _ = h.Exec("podman rm -f tf-acc-test-podman") })
	// podman takes GPUs as CDI devices and wants images with their registry.
	out, code := exitStatus(t, h, "podman run --rm --name tf-acc-test-short --device nvidia.com/gpu=0 vllm/vllm-openai:v0.11.0 m")
	if code != 125 || !strings.Contains(out, "short-name resolution enforced") {
		t.Errorf("podman with a short image name: exit %d: %s", code, out)
	}
	out = exec1(t, h, `podman run -d --name tf-acc-test-podman --device nvidia.com/gpu=1 --security-opt label=disable -p 8401:8401 \
  docker.io/vllm/vllm-openai:v0.11.0 m --port 8401 --gpu-memory-utilization 0.01 >/dev/null
podman inspect -f '{{.State.Running}} {{json .Config.Env}}' tf-acc-test-podman
podman inspect tf-acc-test-podman | grep -o '"GPUs": \[[^]]*\]'`)
	if out != "true []\n"+`"GPUs": ["1"]`+"\n" {
		t.Errorf("podman run with a CDI device: %q", out)
	}
	waitHealthy(t, "http://"+net.JoinHostPort(h.Address, "8401"))
	log, err := os.ReadFile(h.Path(sshlab.PodmanLog))
	if err != nil || !strings.Contains(string(log), "podman run -d --name tf-acc-test-podman") {
		t.Errorf("podman call log: %s %v", log, err)
	}
}

// TestHostLifecycle runs a lab of its own: it stops its host, changes its GPUs and closes it.
func TestHostLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := sshlab.Start(dir, sshlab.HostSpec{Name: "gpu-c", GPUs: []sshlab.GPU{l4}, DriverVersion: "570.172.08"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = l.Close()
		}
	})
	h := l.Hosts[0]
	port := 8301
	base := "http://" + net.JoinHostPort(h.Address, strconv.Itoa(port))

	// An enabled unit, and a detached container without a restart policy.
	exec1(t, h, fmt.Sprintf(`cat > "$INFERSTACK_ROOT/etc/systemd/system/inferstack-boot.service" <<'EOF'
[Service]
ExecStart=docker run --rm --name boot --gpus all -p %d:8000 img m
[Install]
WantedBy=multi-user.target
EOF
systemctl enable --now inferstack-boot 2>/dev/null
docker run -d --name oneoff --gpus all -e INFERSTACK_STANDIN_READY_AFTER=0 -p 8302:8000 img m --gpu-memory-utilization 0.01 >/dev/null`, port))
	waitHealthy(t, base)
	waitHealthy(t, "http://"+net.JoinHostPort(h.Address, "8302"))
	keyBefore, lineBefore := h.HostKey, h.KnownHostsLine()

	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Exec("true"); err == nil {
		t.Fatal("SSH works on a stopped host")
	}
	if code, _ := get(base+"/health", ""); code != 0 {
		t.Errorf("the stopped host's stand-in answers %d", code)
	}
	if left := labProcesses(dir); len(left) > 0 {
		t.Errorf("processes of the stopped host:\n%s", strings.Join(left, "\n"))
	}

	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if h.HostKey != keyBefore || h.KnownHostsLine() != lineBefore {
		t.Fatal("the host came back with another key or address")
	}
	// The same known_hosts line still verifies it, and the boot started the enabled unit.
	waitHealthy(t, base)
	out := exec1(t, h, "systemctl is-active inferstack-boot; docker ps -a --format '{{.Names}} {{.State}}'")
	if out != "active\nboot running\noneoff exited\n" {
		t.Errorf("after the reboot: %q", out)
	}

	if err := l.SetGPUs("gpu-c", []sshlab.GPU{h100, h100}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetGPUs("nope", nil); err == nil {
		t.Error("SetGPUs of an unknown host succeeded")
	}
	out = exec1(t, h, "nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader")
	if out != "0, NVIDIA H100 80GB HBM3, 570.172.08\n1, NVIDIA H100 80GB HBM3, 570.172.08\n" {
		t.Errorf("after SetGPUs: %q", out)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if left := labProcesses(dir); len(left) > 0 {
		t.Errorf("processes after Close:\n%s", strings.Join(left, "\n"))
	}
	if code, _ := get(base+"/health", ""); code != 0 {
		t.Errorf("a stand-in answers %d after Close", code)
	}
}

// TestBastion runs a lab of its own (it counts logins): a GPU host reached through the bastion
// (SSH ProxyJump: a direct-tcpip channel, then SSH over it), with both host keys checked.
func TestBastion(t *testing.T) {
	t.Parallel()
	l, err := sshlab.Start(t.TempDir(), sshlab.HostSpec{Name: "jump", Bastion: true}, sshlab.HostSpec{Name: "gpu", GPUs: []sshlab.GPU{l4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	jump, gpu := l.Host("jump"), l.Host("gpu")
	if !jump.Bastion || gpu.Bastion {
		t.Fatalf("Bastion: jump %v, gpu %v", jump.Bastion, gpu.Bastion)
	}
	if out, code := exitStatus(t, jump, "nvidia-smi -L"); code != 6 || !strings.Contains(out, "No devices were found") {
		t.Errorf("nvidia-smi on the bastion: exit %d, %q; want 6, no devices", code, out)
	}
	if _, err := gpu.Forwards(jump); err == nil {
		t.Error("Forwards of a host that is not a bastion succeeded")
	}
	count := func() (logins, forwards int) {
		t.Helper()
		logins, err := gpu.Logins()
		if err != nil {
			t.Fatal(err)
		}
		if forwards, err = jump.Forwards(gpu); err != nil {
			t.Fatal(err)
		}
		return logins, forwards
	}
	// Start logged in once to check the host, and nothing went through the bastion yet.
	if logins, forwards := count(); logins != 1 || forwards != 0 {
		t.Fatalf("after Start: %d logins on gpu, %d forwards to it; want 1 and 0", logins, forwards)
	}

	jc, err := jump.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	addr := net.JoinHostPort(gpu.Address, strconv.Itoa(gpu.Port))
	conn, err := jc.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the bastion does not forward to gpu: %v", err)
	}
	cfg, err := gpu.ClientConfig() // the lab's known_hosts: gpu's own key, checked over the tunnel
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	gc := ssh.NewClient(sc, chans, reqs)
	defer gc.Close()
	s, err := gc.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := s.Output(sshlab.ShimPATH + "; hostname; nvidia-smi -L | wc -l"); err != nil || string(out) != "gpu\n1\n" {
		t.Fatalf("through the bastion: %q, %v", out, err)
	}
	if logins, forwards := count(); logins != 2 || forwards != 1 {
		t.Errorf("after one session through the bastion: %d logins on gpu, %d forwards to it; want 2 and 1", logins, forwards)
	}

	// The bastion's key for gpu's address: refused over the tunnel too, before any login.
	conn, err = jc.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(wrong, []byte(knownhosts.Normalize(addr)+" "+jump.HostKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg.HostKeyCallback, err = knownhosts.New(wrong); err != nil {
		t.Fatal(err)
	}
	var keyErr *knownhosts.KeyError
	if _, _, _, err := ssh.NewClientConn(conn, addr, cfg); !errors.As(err, &keyErr) {
		t.Fatalf("gpu with the bastion's key: err = %v, want a knownhosts.KeyError", err)
	}
	if logins, forwards := count(); logins != 2 || forwards != 2 {
		t.Errorf("after a refused key: %d logins on gpu, %d forwards to it; want 2 and 2", logins, forwards)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	if _, err := sshlab.Start(t.TempDir()); err == nil {
		t.Error("Start without hosts succeeded")
	}
	if _, err := sshlab.Start(t.TempDir(), sshlab.HostSpec{Name: "a"}, sshlab.HostSpec{Name: "a"}); err == nil {
		t.Error("Start with a name twice succeeded")
	}
	if _, err := sshlab.Start(t.TempDir(), sshlab.HostSpec{Name: "bad name"}); err == nil {
		t.Error("Start with a bad name succeeded")
	}
	if _, err := sshlab.Start(t.TempDir(), sshlab.HostSpec{Name: "jump", Bastion: true, GPUs: []sshlab.GPU{l4}}); err == nil {
		t.Error("Start with a bastion that has GPUs succeeded")
	}
}

func TestShimsPassShellcheck(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck not found: run `make tools` (installs it from Debian's packages)")
	}
	files, err := filepath.Glob("shims/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shims found: %v", err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	cmd := exec.Command(bin, append([]string{"-x", "--severity=style"}, names...)...)
	cmd.Dir = "shims"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
