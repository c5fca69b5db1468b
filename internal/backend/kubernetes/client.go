package kubernetes

import (
	"errors"
	"fmt"
	"sync"
	"time"

	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// Backend is the Kubernetes backend (backend.Backend): clusters are namespaces with a ConfigMap
// holding their settings, endpoints Deployments with their Secret, Service, PodDisruptionBudget,
// NetworkPolicy and, when autoscaled on a serving signal, HorizontalPodAutoscaler. Its client is
// built on first use, so a configuration without Kubernetes never needs a kubeconfig.
type Backend struct {
	cfg Config

	once   sync.Once
	client k8s.Interface
	err    error

	// pullGrace overrides imagePullGrace (tests); 0 keeps it.
	pullGrace time.Duration
}

var (
	_ backend.Backend        = (*Backend)(nil)
	_ backend.CapacityReader = (*Backend)(nil)
	_ backend.EndpointReader = (*Backend)(nil)
)

// Client rate limits: client-go's defaults (5/10) would make a wait over many objects crawl.
const (
	clientQPS   = 50
	clientBurst = 100
)

// New returns the backend for cfg; it makes no network call (the client is built on first use).
func New(cfg Config) *Backend { return &Backend{cfg: cfg} }

// NewWithClient returns a backend that uses client instead of building one from a Config
// (tests, or a caller that already holds a clientset).
func NewWithClient(client k8s.Interface) *Backend {
	b := &Backend{client: client}
	b.once.Do(func() {})
	return b
}

// clientset returns the API client, built once; an error building it is kept and returned again.
func (b *Backend) clientset() (k8s.Interface, error) {
	b.once.Do(func() {
		var rc *rest.Config
		rc, b.err = RESTConfig(b.cfg)
		if b.err != nil {
			return
		}
		b.client, b.err = k8s.NewForConfig(rc)
		if b.err != nil {
			b.err = fmt.Errorf("building the Kubernetes client: %w", b.err)
		}
	})
	return b.client, b.err
}

// RESTConfig resolves cfg to a client-go configuration: Host set → the explicit settings; else
// the kubeconfig files of ConfigPaths (with ConfigContext); else the in-cluster service account.
func RESTConfig(cfg Config) (*rest.Config, error) {
	var rc *rest.Config
	switch {
	case cfg.Host != "":
		rc = &rest.Config{
			Host:        cfg.Host,
			BearerToken: cfg.Token,
			TLSClientConfig: rest.TLSClientConfig{
				Insecure: cfg.Insecure,
				CAData:   []byte(cfg.ClusterCACertificate),
				CertData: []byte(cfg.ClientCertificate),
				KeyData:  []byte(cfg.ClientKey),
			},
		}
		if cfg.Exec != nil {
			rc.ExecProvider = execProvider(cfg.Exec)
		}
	case len(cfg.ConfigPaths) > 0:
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: cfg.ConfigPaths}
		if len(cfg.ConfigPaths) == 1 {
			rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.ConfigPaths[0]}
		}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.ConfigContext}
		var err error
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading the kubeconfig %v (kubernetes.config_path, KUBE_CONFIG_PATH or KUBECONFIG): %w", cfg.ConfigPaths, err)
		}
	default:
		var err error
		rc, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, errors.New("no Kubernetes API server to talk to: set kubernetes.host (with a token, client certificate or exec plugin), " +
				"kubernetes.config_path (or KUBECONFIG / KUBE_CONFIG_PATH), or run the provider inside a cluster")
		}
		if err != nil {
			return nil, fmt.Errorf("reading the in-cluster Kubernetes configuration: %w", err)
		}
	}
	rc.QPS, rc.Burst = clientQPS, clientBurst
	rc.UserAgent = cfg.UserAgent
	if rc.UserAgent == "" {
		rc.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rc, nil
}

// execProvider turns the provider's exec block into client-go's credential plugin settings.
func execProvider(e *ExecConfig) *clientcmdapi.ExecConfig {
	out := &clientcmdapi.ExecConfig{
		APIVersion:      e.APIVersion,
		Command:         e.Command,
		Args:            e.Args,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
	if out.APIVersion == "" {
		out.APIVersion = "client.authentication.k8s.io/v1beta1"
	}
	for _, k := range sortedKeys(e.Env) {
		out.Env = append(out.Env, clientcmdapi.ExecEnvVar{Name: k, Value: e.Env[k]})
	}
	return out
}
