// Command inferstack-lab runs the local lab that `make demo` applies examples/quickstart against:
// moto as AWS behind the harness proxy (with EC2 GPU quotas, instance refresh, and a VPC with two
// private subnets to put an inference cluster in), and SSH "GPU hosts" (real sshd, shimmed
// nvidia-smi, docker and systemctl, a vLLM stand-in). It is the test harness, run as a
// long-lived process. With --kubernetes it also runs a Kubernetes control plane
// (internal/acctest/kubelab, from the binaries `make tools` builds beside this one) with two kwok
// GPU nodes, and writes its kubeconfig to DIR/kubeconfig.
//
//	inferstack-lab up   --dir .lab [--standin bin/vllm-standin] [--kubernetes]   start in the background (idempotent)
//	inferstack-lab down --dir .lab                                  stop it and everything it started
//	inferstack-lab serve --dir .lab                                 run in the foreground (what up starts)
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/kubelab"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
)

// Info is what the lab writes to DIR/lab.json once it is ready.
type Info struct {
	PID         int        `json:"pid"`
	AWSEndpoint string     `json:"aws_endpoint"`
	HFEndpoint  string     `json:"hf_endpoint"`
	GatewayURL  string     `json:"gateway_url"`
	MotoURL     string     `json:"moto_url"`
	SSHKeyFile  string     `json:"ssh_private_key_file"`
	Hosts       []HostInfo `json:"hosts"`
	AWS         AWSInfo    `json:"aws"`
	Kubernetes  *KubeInfo  `json:"kubernetes,omitempty"`
}

// KubeInfo describes the lab's Kubernetes control plane (with --kubernetes).
type KubeInfo struct {
	Kubeconfig string   `json:"kubeconfig"`
	Host       string   `json:"host"`
	Nodes      []string `json:"nodes"`
}

// AWSInfo is what the lab made in moto for an inference cluster.
type AWSInfo struct {
	Region    string   `json:"region"`
	VPCID     string   `json:"vpc_id"`
	SubnetIDs []string `json:"subnet_ids"`
	Zones     []string `json:"zones"`
	AMIID     string   `json:"ami_id"`
	GPUQuota  float64  `json:"gpu_vcpu_quota"`
}

// HostInfo describes one SSH GPU host.
type HostInfo struct {
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Port    int      `json:"port"`
	User    string   `json:"user"`
	HostKey string   `json:"host_key"`
	GPUs    []string `json:"gpus"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".lab", "lab directory (state, logs, lab.json)")
	standin := fs.String("standin", "", "prebuilt vllm-standin binary (default: built on start)")
	kube := fs.Bool("kubernetes", false, "also run a Kubernetes control plane with two kwok GPU nodes")
	_ = fs.Parse(os.Args[2:])
	withKubernetes = *kube
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fatal(err)
	}
	switch os.Args[1] {
	case "up":
		err = up(abs, *standin)
	case "down":
		err = down(abs)
	case "serve":
		err = serve(abs, *standin)
	default:
		usage()
	}
	if err != nil {
		fatal(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: inferstack-lab up|down|serve --dir DIR [--standin BIN] [--kubernetes]")
	os.Exit(2)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "inferstack-lab:", err)
	os.Exit(1)
}

func infoPath(dir string) string { return filepath.Join(dir, "lab.json") }

func readInfo(dir string) (*Info, error) {
	b, err := os.ReadFile(infoPath(dir))
	if err != nil {
		return nil, err
	}
	var info Info
	return &info, json.Unmarshal(b, &info)
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func up(dir, standin string) error {
	if info, err := readInfo(dir); err == nil && alive(info.PID) {
		fmt.Printf("lab already running (pid %d)\n", info.PID)
		printInfo(info)
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(infoPath(dir))
	logf, err := os.Create(filepath.Join(dir, "lab.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"serve", "--dir", dir}
	if standin != "" {
		args = append(args, "--standin", standin)
	}
	if withKubernetes {
		args = append(args, "--kubernetes")
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Println("starting the lab: moto as AWS, two SSH GPU hosts ...")
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "lab.log"))
			return fmt.Errorf("the lab stopped while starting (%v):\n%s", err, log)
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("the lab did not become ready in 5 minutes; see %s", filepath.Join(dir, "lab.log"))
		case <-time.After(200 * time.Millisecond):
		}
		if info, err := readInfo(dir); err == nil {
			printInfo(info)
			return nil
		}
	}
}

func printInfo(info *Info) {
	fmt.Printf("  AWS (moto via the harness proxy): %s\n", info.AWSEndpoint)
	fmt.Printf("  Hugging Face Hub stand-in:        %s\n", info.HFEndpoint)
	fmt.Printf("  LiteLLM gateway stand-in:         %s\n", info.GatewayURL)
	if a := info.AWS; a.VPCID != "" {
		fmt.Printf("  AWS network in moto:              %s (%s), subnets %s in %s; AMI %s\n", a.VPCID, labCIDR,
			strings.Join(a.SubnetIDs, ", "), strings.Join(a.Zones, ", "), a.AMIID)
	}
	for _, h := range info.Hosts {
		fmt.Printf("  GPU host %-6s ssh %s@%s -p %d   GPUs: %s\n", h.Name, h.User, h.Address, h.Port, strings.Join(h.GPUs, ", "))
	}
	if k := info.Kubernetes; k != nil {
		fmt.Printf("  Kubernetes API:                   %s (KUBECONFIG=%s), GPU nodes %s\n", k.Host, k.Kubeconfig, strings.Join(k.Nodes, ", "))
	}
}

func down(dir string) error {
	info, err := readInfo(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no lab running")
		return nil
	}
	if err != nil {
		return err
	}
	if alive(info.PID) {
		_ = syscall.Kill(info.PID, syscall.SIGTERM)
		for i := 0; i < 100 && alive(info.PID); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(info.PID) {
			_ = syscall.Kill(info.PID, syscall.SIGKILL)
		}
	}
	_ = os.Remove(infoPath(dir))
	fmt.Println("lab stopped")
	return nil
}

// labHosts are the demo's two GPU hosts, with different GPUs so placement has choices.
var labHosts = []sshlab.HostSpec{
	{Name: "gpu-a", GPUs: []sshlab.GPU{{Model: "NVIDIA L40S", MemoryMiB: 46068}, {Model: "NVIDIA L40S", MemoryMiB: 46068}}},
	{Name: "gpu-b", GPUs: []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}},
}

// The lab's AWS account: one region, a VPC with a private subnet in each of two zones, and EC2
// GPU vCPU quotas (moto has none) that cover a small cluster of g5.xlarge (4 vCPUs a node).
const (
	labRegion       = "us-east-1"
	labCIDR         = "10.80.0.0/16"
	labInstanceType = "g5.xlarge"
	labGPUQuota     = 64 // vCPUs per quota, on demand and spot, G/VT and P
)

var labZones = []string{"a", "b"}

// setUpAWS makes what an AWS inference cluster needs in the lab's moto, through the harness's
// AWSLab helpers (the same ones the acceptance tests use): the quotas and instance refresh answered
// by the proxy, the network and an AMI made in moto itself.
func setUpAWS(l *acctest.AWSLab) (AWSInfo, error) {
	info := AWSInfo{Region: labRegion, GPUQuota: labGPUQuota}
	l.SetGPUQuotas(labRegion, labGPUQuota)
	err := runHelper(func(t testing.TB) {
		n := l.MakeNetwork(t, labRegion, labCIDR, labZones...)
		info.VPCID, info.SubnetIDs = n.VPCID, n.SubnetIDs(labZones...)
		for _, z := range labZones {
			info.Zones = append(info.Zones, labRegion+z)
		}
		info.AMIID = l.AMI(t, labRegion)
	})
	return info, err
}

// helperT lets the lab call acctest's set-up helpers, which take a testing.TB, outside a test:
// Fatalf stops the helper (by a panic that runHelper turns into an error). The helpers call
// nothing else of it; anything else would panic on the nil TB, which is a bug to see.
type helperT struct{ testing.TB }

type helperFailure string

func (helperT) Helper() {}

func (helperT) Fatalf(format string, args ...any) { panic(helperFailure(fmt.Sprintf(format, args...))) }

func (helperT) Fatal(args ...any) { panic(helperFailure(fmt.Sprint(args...))) }

func runHelper(f func(t testing.TB)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, ok := r.(helperFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(string(msg))
		}
	}()
	f(helperT{})
	return nil
}

func serve(dir, standin string) error {
	if standin != "" {
		os.Setenv("INFERSTACK_STANDIN_BIN", standin)
	}
	moto, err := acctest.StartMoto(dir)
	if err != nil {
		return err
	}
	defer moto.Stop()
	proxy, err := acctest.StartAWSProxy(moto.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	awsInfo, err := setUpAWS(acctest.NewAWSLab(moto, proxy))
	if err != nil {
		return fmt.Errorf("setting up the lab's AWS account in moto: %w", err)
	}
	hub, err := serveHTTP(hfhub.New())
	if err != nil {
		return err
	}
	defer hub.Close()
	// The gateway's master key is made per lab and kept root-only beside its state.
	masterKey := "sk-lab-" + randomHex(12)
	gw, err := serveHTTP(litellm.New(masterKey))
	if err != nil {
		return err
	}
	defer gw.Close()
	gwKeyFile := filepath.Join(dir, "litellm_master_key")
	if err := os.WriteFile(gwKeyFile, []byte(masterKey), 0o600); err != nil {
		return err
	}
	lab, err := sshlab.Start(filepath.Join(dir, "ssh"), labHosts...)
	if err != nil {
		return err
	}
	defer lab.Close()

	keyFile := filepath.Join(dir, "ssh_user_key")
	if err := os.WriteFile(keyFile, []byte(lab.UserPrivateKeyPEM), 0o600); err != nil {
		return err
	}
	info := &Info{PID: os.Getpid(), AWSEndpoint: proxy.URL, HFEndpoint: hub.URL, GatewayURL: gw.URL, MotoURL: moto.URL, SSHKeyFile: keyFile, AWS: awsInfo}
	if withKubernetes {
		kube, kubeInfo, err := startKubernetes(dir)
		if err != nil {
			return err
		}
		defer kube.Stop()
		info.Kubernetes = kubeInfo
	}
	for i, h := range lab.Hosts {
		hi := HostInfo{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, HostKey: h.HostKey}
		for _, g := range labHosts[i].GPUs {
			hi.GPUs = append(hi.GPUs, g.Model+" "+strconv.Itoa(g.MemoryMiB)+" MiB")
		}
		info.Hosts = append(info.Hosts, hi)
	}
	var hosts []map[string]any
	for _, h := range info.Hosts {
		hosts = append(hosts, map[string]any{
			"name": h.Name, "address": h.Address, "port": h.Port, "user": h.User, "host_key": h.HostKey,
			"labels": map[string]string{"lab": "true"},
		})
	}
	if err := writeJSON(filepath.Join(dir, "quickstart.tfvars.json"), map[string]any{
		"aws_endpoint":         proxy.URL,
		"hf_endpoint":          hub.URL,
		"onprem_hosts":         hosts,
		"ssh_private_key_file": keyFile,
		"litellm_url":          gw.URL,
		"litellm_key_file":     gwKeyFile,
	}); err != nil {
		return err
	}
	// For modules/onprem-inference-stack's tests against the lab.
	if err := writeJSON(filepath.Join(dir, "onprem.tfvars.json"), map[string]any{"hosts": hosts}); err != nil {
		return err
	}
	// For modules/aws-inference-stack's tests against the lab and the quickstart's AWS cluster.
	if err := writeJSON(filepath.Join(dir, "aws.tfvars.json"), map[string]any{
		"region":        awsInfo.Region,
		"subnet_ids":    awsInfo.SubnetIDs,
		"ami_id":        awsInfo.AMIID,
		"instance_type": labInstanceType,
	}); err != nil {
		return err
	}
	if err := writeJSON(infoPath(dir), info); err != nil {
		return err
	}
	fmt.Println("lab ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Println("lab stopping")
	return nil
}

// withKubernetes is the --kubernetes flag.
var withKubernetes bool

// startKubernetes runs the control plane with the shared GPU nodes in DIR/kubernetes, from the
// binaries beside this one, and copies its kubeconfig to DIR/kubeconfig.
func startKubernetes(dir string) (*kubelab.Lab, *KubeInfo, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	kdir := filepath.Join(dir, "kubernetes")
	_ = os.RemoveAll(kdir)
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		return nil, nil, err
	}
	kube, err := acctest.StartKubernetes(kdir, filepath.Dir(self))
	if err != nil {
		return nil, nil, fmt.Errorf("starting the Kubernetes control plane: %w", err)
	}
	ki := &KubeInfo{Kubeconfig: filepath.Join(dir, "kubeconfig"), Host: kube.Host}
	for _, n := range acctest.SharedKubeNodes {
		ki.Nodes = append(ki.Nodes, n.Name)
	}
	if err := os.WriteFile(ki.Kubeconfig, kube.Kubeconfig(), 0o600); err != nil {
		kube.Stop()
		return nil, nil, err
	}
	return kube, ki, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// server is an HTTP stand-in on a free 127.0.0.1 port.
type server struct {
	URL string
	srv *http.Server
}

func (s *server) Close() { _ = s.srv.Close() }

func serveHTTP(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
