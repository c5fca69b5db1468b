// Command inferstack-bench is `make bench`'s scale suite (issue 16): with the real CLI and the
// provider from the filesystem mirror, on a lab of its own (SSH GPU hosts, the Hub and LiteLLM
// stand-ins), it applies N on-prem endpoints each with a route, then times plans (refresh, no
// changes) against N terraform_data side by side, counts SSH handshakes and sessions per plan from
// the hosts' sshd logs, times the apply of 10 endpoints against one, and times provider start to
// schema. Then it applies examples/quickstart on a lab of its own (bin/inferstack-lab: moto as AWS
// and two SSH GPU hosts, as `make demo` uses) and times a plan of the whole quickstart against a
// plan of each of its objects alone (-target). Figures, not pass/fail.
//
//	inferstack-bench --tofu bin/tofu --mirror .mirror --dir .cache/bench [--standin bin/vllm-standin] [--n 1,10,50]
//	  [--lab bin/inferstack-lab] [--quickstart examples/quickstart]   (--quickstart "" leaves it out)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// Hosts and GPUs: enough for the largest N with one GPU per endpoint, and as many hosts as the
// apply of 10 endpoints spreads over.
const (
	benchHosts  = 10
	gpusPerHost = 6
	planRuns    = 3 // plans per figure; the median is printed
	masterKey   = "sk-bench-master"
)

type bench struct {
	tofu, dir, rc string
	lab           *sshlab.Lab
	hub, gw       string
	// env is added to the CLI's environment (the quickstart's variables and AWS credentials).
	env []string
}

func main() {
	tofu := flag.String("tofu", "bin/tofu", "the CLI")
	mirror := flag.String("mirror", ".mirror", "filesystem mirror holding the provider")
	dir := flag.String("dir", ".cache/bench", "work directory")
	standin := flag.String("standin", "", "prebuilt vllm-standin binary")
	ns := flag.String("n", "1,10,50", "endpoint counts (\"\": the quickstart only)")
	labBin := flag.String("lab", "", "the lab binary for the quickstart (default: inferstack-lab beside --tofu)")
	qs := flag.String("quickstart", "examples/quickstart", "the quickstart example (\"\": leave the quickstart out)")
	flag.Parse()
	if *labBin == "" {
		*labBin = filepath.Join(filepath.Dir(*tofu), "inferstack-lab")
	}
	if err := run(*tofu, *mirror, *dir, *standin, *ns, *labBin, *qs); err != nil {
		fmt.Fprintln(os.Stderr, "inferstack-bench:", err)
		os.Exit(1)
	}
}

func run(tofu, mirror, dir, standin, ns, labBin, quickstart string) error {
	var counts []int
	for _, s := range strings.FieldsFunc(ns, func(r rune) bool { return r == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > benchHosts*gpusPerHost {
			return fmt.Errorf("--n: %q is not a count from 1 to %d", s, benchHosts*gpusPerHost)
		}
		counts = append(counts, n)
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	b := &bench{tofu: abs(tofu), dir: abs(dir)}
	_ = os.RemoveAll(b.dir)
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	b.rc = filepath.Join(b.dir, "tofurc")
	if err := os.WriteFile(b.rc, []byte(fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"]
  }
  direct { exclude = ["registry.opentofu.org/inferstack/*", "registry.terraform.io/inferstack/*"] }
}
`, abs(mirror))), 0o644); err != nil {
		return err
	}
	if standin != "" {
		os.Setenv(sshlab.StandinBinEnv, abs(standin))
	}
	hub, err := serve(hfhub.New())
	if err != nil {
		return err
	}
	gw, err := serve(litellm.New(masterKey))
	if err != nil {
		return err
	}
	b.hub, b.gw = hub, gw
	var specs []sshlab.HostSpec
	for i := range benchHosts {
		g := make([]sshlab.GPU, gpusPerHost)
		for j := range g {
			g[j] = sshlab.GPU{Model: "NVIDIA L40S", MemoryMiB: 46068}
		}
		specs = append(specs, sshlab.HostSpec{Name: fmt.Sprintf("b%d", i), GPUs: g})
	}
	start := time.Now()
	b.lab, err = sshlab.Start(filepath.Join(b.dir, "ssh"), specs...)
	if err != nil {
		return fmt.Errorf("starting the SSH lab (run `make tools` to install openssh-server): %w", err)
	}
	defer b.lab.Close()
	fmt.Printf("lab: %d SSH hosts x %d GPUs up in %s; %s\n", benchHosts, gpusPerHost, time.Since(start).Round(time.Millisecond), cliVersion(b.tofu))

	schema, err := b.schemaTime()
	if err != nil {
		return err
	}
	fmt.Printf("\nprovider start to schema (tofu providers schema -json, median of 5): %s\n", ms(schema))

	if len(counts) > 0 {
		fmt.Printf("\nplan with refresh, no changes (median of %d), on-prem endpoints each with a route, against N terraform_data\n", planRuns)
		fmt.Printf("%4s %9s %11s %7s %9s %11s %9s %11s %11s %14s\n", "N", "objects", "plan", "data", "ratio", "per object", "handshakes", "sessions", "apply", "apply sessions")
	}
	applies, applyCPU := map[int]time.Duration{}, map[int]time.Duration{}
	for _, n := range counts {
		r, err := b.scale(n)
		if err != nil {
			return fmt.Errorf("the fleet of %d: %w", n, err)
		}
		applies[n], applyCPU[n] = r.apply, r.applyCPU
		objects := 2*n + 1
		fmt.Printf("%4d %9d %11s %7s %8.1fx %11s %4d (%d h) %5d (%.1f/ep) %11s %6d (%.1f/ep)\n", n, objects, ms(r.plan), ms(r.data),
			float64(r.plan)/float64(r.data), ms(r.plan/time.Duration(objects)), r.handshakes, benchHosts, r.sessions,
			float64(r.sessions)/float64(n), ms(r.apply), r.applySessions, float64(r.applySessions)/float64(n))
	}
	if one, ten := applies[1], applies[10]; one > 0 && ten > 0 {
		fmt.Printf("\napply of 10 endpoints with routes on %d hosts: %s against one: %s (%.2fx; goal within 1.5x)\n",
			benchHosts, ms(ten), ms(one), float64(ten)/float64(one))
		// Every lab host runs on this machine's cores: the CPU the ten converges need bounds
		// their wall time from below, whatever the provider does.
		cores := runtime.NumCPU()
		floor := applyCPU[10] / time.Duration(cores)
		fmt.Printf("CPU busy during the apply (every process on the machine, /proc/stat): one: %s, ten: %s; on %d cores ten cannot "+
			"take less than %s, %.2fx one's apply\n", ms(applyCPU[1]), ms(applyCPU[10]), cores, ms(floor), float64(floor)/float64(one))
	}
	if quickstart == "" {
		return nil
	}
	// The scale lab is done: stop it before the quickstart's lab starts.
	_ = b.lab.Close()
	return b.quickstart(abs(labBin), abs(quickstart), standin)
}

type scaleResult struct {
	plan, data, apply    time.Duration
	applyCPU             time.Duration // CPU the whole machine was busy for during the apply
	handshakes, sessions int
	// applySessions are the SSH sessions of the apply (cluster, endpoints and routes).
	applySessions int
}

// scale applies n endpoints with routes, plans them planRuns times counting the hosts' logins and
// sessions, plans n terraform_data as often, and destroys the endpoints.
func (b *bench) scale(n int) (*scaleResult, error) {
	work := filepath.Join(b.dir, fmt.Sprintf("onprem-%d", n))
	data := filepath.Join(b.dir, fmt.Sprintf("data-%d", n))
	if err := b.write(work, b.onpremConfig(n)); err != nil {
		return nil, err
	}
	if err := b.write(data, dataConfig(2*n+1)); err != nil {
		return nil, err
	}
	out := &scaleResult{}
	for _, w := range []string{work, data} {
		if _, err := b.cli(w, "init", "-input=false"); err != nil {
			return nil, err
		}
	}
	if _, err := b.cli(data, "apply", "-input=false", "-auto-approve"); err != nil {
		return nil, err
	}
	_, s0 := b.count()
	c0, err := cpuBusy()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if _, err := b.cli(work, "apply", "-input=false", "-auto-approve"); err != nil {
		return nil, err
	}
	out.apply = time.Since(start)
	c1, err := cpuBusy()
	if err != nil {
		return nil, err
	}
	out.applyCPU = c1 - c0
	_, s1 := b.count()
	out.applySessions = s1 - s0
	defer func() { _, _ = b.cli(work, "destroy", "-input=false", "-auto-approve") }()

	var plans, datas []time.Duration
	for i := range planRuns {
		l0, s0 := b.count()
		start := time.Now()
		if _, err := b.cli(work, "plan", "-input=false", "-detailed-exitcode"); err != nil {
			return nil, fmt.Errorf("plan %d of the endpoints (want no changes): %w", i+1, err)
		}
		plans = append(plans, time.Since(start))
		l1, s1 := b.count()
		out.handshakes, out.sessions = l1-l0, s1-s0
		start = time.Now()
		if _, err := b.cli(data, "plan", "-input=false", "-detailed-exitcode"); err != nil {
			return nil, err
		}
		datas = append(datas, time.Since(start))
	}
	out.plan, out.data = median(plans), median(datas)
	return out, nil
}

// count sums the logins and sessions every host's sshd logged.
func (b *bench) count() (logins, sessions int) {
	for _, h := range b.lab.Hosts {
		l, _ := h.Logins()
		s, _ := h.Sessions()
		logins, sessions = logins+l, sessions+s
	}
	return logins, sessions
}

func (b *bench) onpremConfig(n int) string {
	var hosts strings.Builder
	for _, h := range b.lab.Hosts {
		fmt.Fprintf(&hosts, "      { name = %q, address = %q, port = %d, user = %q, host_key = %q },\n", h.Name, h.Address, h.Port, h.User, h.HostKey)
	}
	return fmt.Sprintf(`terraform {
  required_providers {
    inferstack = { source = "inferstack/inferstack" }
  }
}

provider "inferstack" {
  huggingface { endpoint = %q }
  onprem { ssh_private_key = %q }
  gateway {
    url        = %q
    master_key = %q
  }
}

resource "inferstack_inference_cluster" "bench" {
  name = "bench"
  onprem = {
    hosts = [
%s    ]
  }
}

resource "inferstack_model_endpoint" "ep" {
  count      = %d
  cluster_id = inferstack_inference_cluster.bench.id
  name       = "bench-${count.index}"
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = 1
  api_key    = "sk-bench-0123456789"
}

resource "inferstack_api_route" "route" {
  count       = %d
  name        = "bench-${count.index}"
  endpoint_id = inferstack_model_endpoint.ep[count.index].id
}
`, b.hub, b.lab.UserPrivateKeyPEM, b.gw, masterKey, hosts.String(), n, n)
}

func dataConfig(n int) string {
	return fmt.Sprintf("resource \"terraform_data\" \"d\" {\n  count = %d\n  input = count.index\n}\n", n)
}

// schemaTime is the median of five runs of `tofu providers schema -json` in an initialised
// folder of the provider alone.
func (b *bench) schemaTime() (time.Duration, error) {
	w := filepath.Join(b.dir, "schema")
	if err := b.write(w, "terraform {\n  required_providers {\n    inferstack = { source = \"inferstack/inferstack\" }\n  }\n}\n"); err != nil {
		return 0, err
	}
	if _, err := b.cli(w, "init", "-input=false"); err != nil {
		return 0, err
	}
	var ds []time.Duration
	for range 5 {
		start := time.Now()
		out, err := b.cli(w, "providers", "schema", "-json")
		if err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
		if !json.Valid(out) {
			return 0, fmt.Errorf("providers schema printed no JSON")
		}
	}
	return median(ds), nil
}

func (b *bench) write(dir, config string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600)
}

// cli runs the CLI in dir; exit 2 of a -detailed-exitcode plan (changes) is an error.
func (b *bench) cli(dir string, args ...string) ([]byte, error) {
	all := append([]string{"-chdir=" + dir}, args...)
	if args[0] != "providers" && args[0] != "state" {
		all = append(all, "-no-color")
	}
	cmd := exec.Command(b.tofu, all...)
	cmd.Env = append(append(os.Environ(), "TF_CLI_CONFIG_FILE="+b.rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"), b.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(b.tofu), strings.Join(args, " "), err, tail(string(out)), stderr.String())
	}
	return out, nil
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func cliVersion(tofu string) string {
	out, err := exec.Command(tofu, "version").Output()
	if err != nil {
		return "CLI version unknown"
	}
	// The first line naming the CLI (a warning about the CLI configuration may come first).
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "OpenTofu v") || strings.HasPrefix(l, "Terraform v") {
			return l
		}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuBusy is how long the machine's CPUs have been busy since boot, summed over CPUs: the
// non-idle fields of /proc/stat's cpu line (user, nice, system, irq, softirq, steal), in USER_HZ
// ticks of 10 ms.
func cpuBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("reading the CPU time: /proc/stat starts %q", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading the CPU time: field %d of %q: %w", i, line, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// serve runs h on a free loopback port.
func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}
