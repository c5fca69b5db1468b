// Package kubernetes is the backend for GPU node pools of an existing Kubernetes cluster: an
// inference cluster is a namespace (created if missing, labelled as ours) and the node selector
// and tolerations of its GPU nodes; an endpoint is a Deployment rendered from the same vLLM spec
// as the other backends (internal/vllm), with a Secret, a Service, a PodDisruptionBudget and a
// NetworkPolicy beside it, and a HorizontalPodAutoscaler (autoscaling/v2, a Pods metric named
// after vLLM's gauge: MetricName) when it scales on a serving signal. An endpoint whose
// pipeline stages span nodes (pipeline_parallel_size > 1) is instead a StatefulSet per replica,
// one pod per stage with tensor_parallel_size GPUs on a node of its own, under a headless Service
// naming the leader (rank 0), started with vLLM's multiprocessing multi-node flags (no Ray); its
// Service selects only the leaders, which serve the API. Objects are written with
// server-side apply (field manager "inferstack"); the cluster's own scheduler places replicas by
// nvidia.com/gpu. The cluster's settings live in a ConfigMap in its namespace, so an endpoint
// given only the cluster's ID learns its node selector, tolerations and runtime class.
//
// It uses k8s.io/client-go and nothing from terraform-plugin-*.
package kubernetes

// Name is the block name; cluster IDs start with it ("kubernetes/<namespace>/<name>").
const Name = "kubernetes"

// FieldManager is the server-side apply field manager of every object the backend writes.
const FieldManager = "inferstack"

// Config is how the provider reaches the API server: the provider's kubernetes block with the
// environment's fallbacks already applied, as terraform-provider-kubernetes users write it.
// Resolution: Host set → the explicit settings (with Token / client certificate / Exec);
// else ConfigPaths (KUBE_CONFIG_PATH(S), KUBECONFIG) with ConfigContext; else in-cluster.
type Config struct {
	// ConfigPaths are kubeconfig files, merged in order (config_path, or KUBE_CONFIG_PATH,
	// KUBE_CONFIG_PATHS, KUBECONFIG split on the OS's list separator).
	ConfigPaths []string
	// ConfigContext picks a context of the kubeconfig ("" = its current-context).
	ConfigContext string
	// Host is the API server's URL; when set it overrides the kubeconfig's server.
	Host string
	// Token is a bearer token. Secret.
	Token string
	// ClusterCACertificate, ClientCertificate, ClientKey are PEM. ClientKey is secret.
	ClusterCACertificate, ClientCertificate, ClientKey string
	// Insecure skips verification of the server's certificate.
	Insecure bool
	// Exec is a client-go credential plugin (aws eks get-token, kubelogin, gke-gcloud-auth-plugin).
	Exec *ExecConfig
	// UserAgent is sent with every request.
	UserAgent string
}

// ExecConfig is a client-go exec credential plugin.
type ExecConfig struct {
	APIVersion string // e.g. client.authentication.k8s.io/v1beta1
	Command    string
	Args       []string
	Env        map[string]string
}

// Toleration is a pod toleration (core/v1 Toleration).
type Toleration struct {
	Key, Operator, Value, Effect string
	// TolerationSeconds applies to NoExecute; nil: forever.
	TolerationSeconds *int64
}

// ModelCache is an optional shared ReadWriteMany volume for the Hugging Face cache.
type ModelCache struct {
	StorageClass string // "" = the cluster's default
	SizeGiB      int64
}

// ClusterSpec is the kubernetes block of an inference cluster (backend.ClusterSpec.Settings is a
// *ClusterSpec). The backend fills Name from backend.ClusterSpec.Name.
type ClusterSpec struct {
	Name         string
	Namespace    string
	NodeSelector map[string]string
	Tolerations  []Toleration
	RuntimeClass string
	ModelCache   *ModelCache // nil: none
}

// Node is one node of the pool (matching the node selector, schedulable).
type Node struct {
	Name       string
	GPUProduct string // label nvidia.com/gpu.product ("" when absent)
	GPUs       int64  // allocatable nvidia.com/gpu
	// GPUMemoryMiB from GPU feature discovery's nvidia.com/gpu.memory label (0 when absent).
	GPUMemoryMiB int64
}

// ClusterDetails is backend.Cluster.Details: the settings as stored with the cluster (for
// import) and the pool's nodes.
type ClusterDetails struct {
	Spec  ClusterSpec
	Nodes []Node
}

// EndpointSettings is the kubernetes block of an endpoint (backend.EndpointSpec.Settings is a
// *EndpointSettings, nil when the block is unset): zero values take the defaults.
type EndpointSettings struct {
	// Port is the Service's port (default 8000); the container listens on 8000.
	Port int64
	// ServiceAnnotations go on the Service (e.g. an internal load balancer's).
	ServiceAnnotations map[string]string
	// ServiceType is ClusterIP (default) or LoadBalancer.
	ServiceType string
	// AllowedNamespaces and AllowedCIDRs are what the NetworkPolicy admits to the serving port
	// (the gateway's namespace or addresses). Both empty: only pods of the endpoint's own namespace.
	AllowedNamespaces []string
	AllowedCIDRs      []string
	// MaxSurge and MaxUnavailable are the Deployment's rolling update (defaults 1 and 0: a new
	// replica is ready before an old one goes). A multi-node endpoint's StatefulSets roll one
	// pod at a time, each group on its own; these do not apply to them.
	MaxSurge, MaxUnavailable *int64
	// StartupSeconds bounds how long a replica may take to load weights before the startup
	// probe gives up (default: the endpoint's ready timeout).
	StartupSeconds int64
	// SharedMemoryMiB is the size of the memory emptyDir at /dev/shm (default 8192).
	SharedMemoryMiB int64
}

// EndpointDetails is backend.Endpoint.Details.
type EndpointDetails struct {
	Namespace string
	// Deployment is "" for a multi-node endpoint (pipeline_parallel_size > 1), whose replicas are
	// StatefulSets (one pod per pipeline stage) under HeadlessService.
	Deployment      string
	StatefulSets    []string
	HeadlessService string
	Service         string
	ServiceHost     string // <service>.<namespace>.svc
	Port            int64
	ReadyReplicas   int64
	UpdatedReplicas int64
	Settings        EndpointSettings // as applied (for import)
}
