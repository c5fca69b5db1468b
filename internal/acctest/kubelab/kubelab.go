// Package kubelab runs a real Kubernetes control plane on 127.0.0.1 for the tests: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler (k8s.io/kubernetes v1.36.3, built by
// `make tools` from tools/kubernetes, tools/etcd and tools/kwok), with kwok standing in for the
// kubelets of fake GPU nodes: the real scheduler places pods by `nvidia.com/gpu`, and kwok makes
// the placed pods Running and Ready and finishes their deletion.
//
// Only the API is reached, on 127.0.0.1 with a static admin token; nothing connects to a Service
// or Pod IP (there is no network behind them).
package kubelab

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// AdminUser is the user the static token authenticates as (group system:masters).
const AdminUser = "kubelab-admin"

// ContextName is the only context in the lab's kubeconfig.
const ContextName = "kubelab"

// FakeNodeAnnotation marks the nodes kwok manages (its --manage-nodes-with-annotation-selector).
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// Binaries are the programs Start runs from binDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// startTimeout bounds the whole start: a cold kube-apiserver on a busy 2-core machine takes
// tens of seconds; the deadline is for one that hangs.
const startTimeout = 3 * time.Minute

// Lab is a running control plane.
type Lab struct {
	Dir            string // working directory: data, certificates, kubeconfig and one log per process
	Host           string // https://127.0.0.1:PORT
	Token          string // static admin token (system:masters)
	CACertPEM      []byte // CA of the API server's certificate
	KubeconfigPath string // kubeconfig with the one context "kubelab"
	EtcdURL        string // http://127.0.0.1:PORT

	procs  []*proc
	client kubernetes.Interface
}

type proc struct {
	name   string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// DefaultBinDir is the bin/ folder of the repository holding the working directory (walking up to
// this module's go.mod), where `make tools` builds the control plane.
func DefaultBinDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/inferstack/terraform-provider-inferstack\n") {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the repository's go.mod was not found above the working directory")
		}
		dir = parent
	}
}

// Start runs the control plane in dir (which must exist) from the binaries in binDir and waits
// until the API is ready and namespace default has its service account. On failure everything
// started is stopped and the error carries the failing process's log tail.
func Start(dir, binDir string) (*Lab, error) {
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(binDir, b)); err != nil || fi.IsDir() {
			return nil, fmt.Errorf("%s not built: run `make tools`", filepath.Join(binDir, b))
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p, err := writePKI(dir)
	if err != nil {
		return nil, fmt.Errorf("writing the lab's certificates and keys: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	l := &Lab{
		Dir:            dir,
		Host:           fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		Token:          p.token,
		CACertPEM:      p.caCertPEM,
		KubeconfigPath: filepath.Join(dir, "kubeconfig"),
		EtcdURL:        fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
	}
	if err := os.WriteFile(l.KubeconfigPath, l.Kubeconfig(), 0o600); err != nil {
		return nil, err
	}
	if l.client, err = kubernetes.NewForConfig(l.RESTConfig()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	fail := func(err error) (*Lab, error) {
		l.Stop()
		return nil, err
	}
	bin := func(name string) string { return filepath.Join(binDir, name) }

	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd, err := l.start("etcd", nil, bin("etcd"),
		"--name=kubelab",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+l.EtcdURL,
		"--advertise-client-urls="+l.EtcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubelab="+peerURL,
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return fail(err)
	}
	if err := waitHTTP(ctx, etcd, http.DefaultClient, l.EtcdURL+"/health", ""); err != nil {
		return fail(err)
	}

	api, err := l.start("kube-apiserver", nil, bin("kube-apiserver"),
		"--etcd-servers="+l.EtcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+p.serveCert,
		"--tls-private-key-file="+p.serveKey,
		"--client-ca-file="+p.caCert,
		"--token-auth-file="+p.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+p.saPublicKey,
		"--service-account-signing-key-file="+p.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		// The kubernetes Service's endpoint would be 127.0.0.1, which Endpoints reject; nothing
		// uses the Service here.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return fail(err)
	}
	hc, err := l.httpClient()
	if err != nil {
		return fail(err)
	}
	if err := waitHTTP(ctx, api, hc, l.Host+"/readyz", l.Token); err != nil {
		return fail(err)
	}

	kcm, err := l.start("kube-controller-manager", nil, bin("kube-controller-manager"),
		"--kubeconfig="+l.KubeconfigPath,
		"--authentication-kubeconfig="+l.KubeconfigPath,
		"--authorization-kubeconfig="+l.KubeconfigPath,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", kcmPort),
		"--cert-dir="+filepath.Join(dir, "kcm-certs"),
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caCert,
		"--cluster-signing-cert-file="+p.caCert,
		"--cluster-signing-key-file="+p.caKey,
		"--use-service-account-credentials=false",
		"--service-cluster-ip-range=10.96.0.0/16",
		// kwok posts the fake nodes' heartbeats, and a loaded 2-core machine can starve it past
		// the default 50 s: the node lifecycle controller then marks the node's pods not ready,
		// and kwok, which makes a pod ready only once (before it has an IP), never marks them
		// ready again, so a rollout waits for ever. The lab's nodes never really fail.
		"--node-monitor-grace-period=15m",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return fail(err)
	}
	sched, err := l.start("kube-scheduler", nil, bin("kube-scheduler"),
		"--kubeconfig="+l.KubeconfigPath,
		"--authentication-kubeconfig="+l.KubeconfigPath,
		"--authorization-kubeconfig="+l.KubeconfigPath,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", schedPort),
		"--cert-dir="+filepath.Join(dir, "scheduler-certs"),
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return fail(err)
	}
	kwokDir := filepath.Join(dir, "kwok")
	if err := os.MkdirAll(kwokDir, 0o700); err != nil {
		return fail(err)
	}
	kwok, err := l.start("kwok", []string{"KWOK_WORKDIR=" + kwokDir}, bin("kwok"),
		"--kubeconfig="+l.KubeconfigPath,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+FakeNodeAnnotation+"=fake",
		"--node-ip=127.0.0.1",
	)
	if err != nil {
		return fail(err)
	}

	cs := l.client
	if err := waitFor(ctx, []*proc{kcm, sched, kwok}, "the default service account in namespace default", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}); err != nil {
		return fail(err)
	}
	return l, nil
}

// Kubeconfig is a kubeconfig with the one context "kubelab" (admin token, the lab's CA).
func (l *Lab) Kubeconfig() []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s
  user:
    token: %[4]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
current-context: %[1]s
`, ContextName, l.Host, base64.StdEncoding.EncodeToString(l.CACertPEM), l.Token)
}

// RESTConfig is a client configuration for the lab's API as the admin.
func (l *Lab) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            l.Host,
		BearerToken:     l.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: l.CACertPEM},
		QPS:             100,
		Burst:           200,
	}
}

// Client is a clientset for the lab's API as the admin.
func (l *Lab) Client() kubernetes.Interface { return l.client }

// Stop ends every process of the lab (their process groups), the last started first.
func (l *Lab) Stop() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		l.procs[i].stop()
	}
	l.procs = nil
}

// Exited describes each process of the lab that is no longer running, with its log's tail: a
// failed test logs it, since a dead controller-manager or kwok stalls every rollout silently.
func (l *Lab) Exited() []error {
	var out []error
	for _, p := range l.procs {
		select {
		case <-p.exited:
			out = append(out, p.failure(p.name+" has exited"))
		default:
		}
	}
	return out
}

func (l *Lab) start(name string, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(l.Dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = l.Dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	l.procs = append(l.procs, p)
	return p, nil
}

func (p *proc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// failure describes a process that is not (yet) doing its job, with its log's tail.
func (p *proc) failure(what string) error {
	out, _ := os.ReadFile(p.log)
	if len(out) > 3000 {
		out = out[len(out)-3000:]
	}
	return fmt.Errorf("%s (log %s):\n%s", what, p.log, bytes.TrimSpace(out))
}

func (l *Lab) httpClient() (*http.Client, error) {
	tc, err := rest.TLSConfigFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: l.CACertPEM}})
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}, nil
}

// waitHTTP polls url until it answers 200, failing early when p exits.
func waitHTTP(ctx context.Context, p *proc, hc *http.Client, url, token string) error {
	return waitFor(ctx, []*proc{p}, url, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// waitFor polls ready every 100ms until it is true, one of procs exits, or ctx ends; the error
// names the process to blame with its log tail.
func waitFor(ctx context.Context, procs []*proc, what string, ready func(context.Context) (bool, error)) error {
	var last error
	for {
		for _, p := range procs {
			select {
			case <-p.exited:
				return p.failure(fmt.Sprintf("%s exited while waiting for %s", p.name, what))
			default:
			}
		}
		ok, err := ready(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			err := fmt.Errorf("timed out waiting for %s (last error: %v)", what, last)
			if len(procs) > 0 {
				return procs[0].failure(err.Error())
			}
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// CreateNamespace creates namespace name and waits until its default service account exists
// (pods are refused before that).
func (l *Lab) CreateNamespace(ctx context.Context, name string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	cs := l.client
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return waitFor(ctx, nil, "the default service account in namespace "+name, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}
