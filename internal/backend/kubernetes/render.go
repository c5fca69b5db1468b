package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// Endpoint objects' fixed settings.
const (
	// ContainerPort is where vLLM listens in the pod (port name "http").
	ContainerPort = 8000
	// ContainerName is the vLLM container of an endpoint's pods.
	ContainerName = "vllm"
	// Secret keys: the environment variables they become.
	SecretKeyAPIKey  = "VLLM_API_KEY"
	SecretKeyHFToken = "HF_TOKEN"
	// AnnotationSpec on the pod template is the applied vLLM settings as JSON (appliedEngine):
	// what import reads back. It holds no secret.
	AnnotationSpec = "inferstack.io/spec"
	// AnnotationSettings on the Deployment is the endpoint's scale and kubernetes-block settings
	// as JSON (appliedSettings); kept off the pod template so a change of them rolls no pod.
	AnnotationSettings = "inferstack.io/settings"
	// AnnotationSecretVersion on the pod template is the resourceVersion of the endpoint's
	// Secret as applied: a rotated key changes it and so rolls the pods. Never the key or a hash.
	AnnotationSecretVersion = "inferstack.io/secret-version"

	hfCacheMountPath       = "/root/.cache/huggingface"
	defaultSharedMemoryMiB = 8192
	startupPeriodSeconds   = 10
)

// Multi-node endpoints (pipeline_parallel_size > 1): each replica is a StatefulSet of one pod per
// pipeline stage, started with vLLM's own multi-node flags (no Ray).
const (
	// LabelGroup on a StatefulSet and its pods is the replica (group) index.
	LabelGroup = "inferstack.io/replica"
	// EnvNodeRank is the pod's rank in its group: the StatefulSet's pod index.
	EnvNodeRank = "NODE_RANK"
	// MasterPort is where the leader's torch.distributed store listens (vLLM's default).
	MasterPort = 29501
)

// multiNodeCommand starts vllm serve with the container's args, adding --headless on every rank
// but the leader (rank 0), which alone serves the API.
var multiNodeCommand = []string{"/bin/sh", "-c",
	`if [ "$` + EnvNodeRank + `" != 0 ]; then set -- "$@" --headless; fi; exec vllm serve "$@"`, "vllm-serve"}

// leaderHealthProbe asks the leader's /health; workers (no API server) pass.
var leaderHealthProbe = []string{"/bin/sh", "-c",
	`[ "$` + EnvNodeRank + `" != 0 ] || exec python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:` +
		strconv.Itoa(ContainerPort) + `/health", timeout=4)'`}

// GroupName is the StatefulSet of replica i of a multi-node endpoint.
func GroupName(endpoint string, i int) string { return endpoint + "-" + strconv.Itoa(i) }

// HeadlessServiceName is the headless Service naming a multi-node endpoint's pods.
func HeadlessServiceName(endpoint string) string { return endpoint + "-headless" }

// LeaderHost is the DNS name of replica i's leader (rank 0).
func LeaderHost(namespace, endpoint string, i int) string {
	return GroupName(endpoint, i) + "-0." + HeadlessServiceName(endpoint) + "." + namespace + ".svc"
}

// MultiNodeArgs are the flags a rank adds to vllm serve's (the flag table's multi_node
// section, multiprocessing): the node count, the rank (from the pod's NODE_RANK) and the
// leader's address. Workers add --headless (multiNodeCommand).
func MultiNodeArgs(nodes int, leader string) []string {
	return []string{"--nnodes", strconv.Itoa(nodes), "--node-rank", "$(" + EnvNodeRank + ")", "--master-addr", leader}
}

// groupSelector selects the pods of one group of an endpoint.
func groupSelector(sel map[string]string, group string) map[string]string {
	out := maps.Clone(sel)
	out[LabelGroup] = group
	return out
}

// SecretName is the Secret of endpoint name.
func SecretName(endpoint string) string { return endpoint + "-secrets" }

// ServiceHost is the cluster DNS name of an endpoint's Service.
func ServiceHost(namespace, endpoint string) string { return endpoint + "." + namespace + ".svc" }

// ServiceURL is an endpoint's OpenAI base URL inside the cluster.
func ServiceURL(namespace, endpoint string, port int64) string {
	return "http://" + ServiceHost(namespace, endpoint) + ":" + strconv.FormatInt(port, 10) + "/v1"
}

// MetricName is the per-pod custom metric name the HorizontalPodAutoscaler asks the metrics API
// for: vLLM's gauge with its colon made an underscore (vllm:num_requests_waiting →
// vllm_num_requests_waiting), the name a Prometheus adapter rule exposes it under by default.
func MetricName(servingMetric string) string {
	return strings.ReplaceAll(vllm.ServingMetrics[servingMetric], ":", "_")
}

// servingMetricOf is MetricName's inverse ("" when name is none of them).
func servingMetricOf(name string) string {
	for m := range vllm.ServingMetrics {
		if MetricName(m) == name {
			return m
		}
	}
	return ""
}

// endpointLabels are on every object of an endpoint.
func endpointLabels(cluster, endpoint string) map[string]string {
	return map[string]string{
		LabelName: AppName, LabelInstance: endpoint, LabelManagedBy: ManagedByValue,
		LabelCluster: cluster, LabelEndpoint: endpoint,
	}
}

// selectorLabels select an endpoint's pods (a Deployment's selector never changes).
func selectorLabels(cluster, endpoint string) map[string]string {
	return map[string]string{LabelName: AppName, LabelInstance: endpoint, LabelCluster: cluster}
}

// appliedEngine is the pod template's AnnotationSpec: the vLLM settings as applied.
type appliedEngine struct {
	vllm.AppliedSpec
	LoRAAdapters []vllm.LoRAAdapter `json:",omitempty"`
}

// appliedSettings is the Deployment's AnnotationSettings.
type appliedSettings struct {
	Replicas, MinReplicas, MaxReplicas int64
	ScaleTarget                        *backend.ScaleTarget `json:",omitempty"`
	Settings                           EndpointSettings
}

// endpointInput is everything an endpoint's objects are rendered from.
type endpointInput struct {
	Cluster  ClusterSpec
	Spec     backend.EndpointSpec
	Settings EndpointSettings // with defaults
	// SecretVersion is the Secret's resourceVersion after it was applied.
	SecretVersion string
	// Replicas is the Deployment's replicas; nil leaves them to the HorizontalPodAutoscaler.
	Replicas *int32
}

// endpointObjects are an endpoint's objects as applied.
type endpointObjects struct {
	Secret     *corev1ac.SecretApplyConfiguration
	Deployment *appsv1ac.DeploymentApplyConfiguration // nil: pipeline stages span nodes
	// StatefulSets are the replica groups when pipeline stages span nodes (one per replica, a
	// pod per stage), Headless their Service; nil otherwise.
	StatefulSets  []*appsv1ac.StatefulSetApplyConfiguration
	Headless      *corev1ac.ServiceApplyConfiguration
	Service       *corev1ac.ServiceApplyConfiguration
	PDB           *policyv1ac.PodDisruptionBudgetApplyConfiguration
	NetworkPolicy *networkingv1ac.NetworkPolicyApplyConfiguration
	HPA           *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration // nil: none
}

// endpointSettingsOf returns the endpoint's kubernetes block with its defaults.
func endpointSettingsOf(spec backend.EndpointSpec) (EndpointSettings, error) {
	var s EndpointSettings
	switch v := spec.Settings.(type) {
	case nil:
	case *EndpointSettings:
		if v != nil {
			s = *v
		}
	default:
		return s, fmt.Errorf("kubernetes backend: endpoint settings of type %T: this is a bug in the provider", spec.Settings)
	}
	if s.Port == 0 {
		s.Port = ContainerPort
	}
	if s.ServiceType == "" {
		s.ServiceType = string(corev1.ServiceTypeClusterIP)
	}
	if s.MaxSurge == nil {
		s.MaxSurge = ptr(int64(1))
	}
	if s.MaxUnavailable == nil {
		s.MaxUnavailable = ptr(int64(0))
	}
	if spec.MaxUnavailable > 0 {
		s.MaxUnavailable = ptr(spec.MaxUnavailable)
	}
	if s.StartupSeconds == 0 {
		s.StartupSeconds = int64(spec.Node.ReadyTimeout / time.Second)
		if s.StartupSeconds == 0 {
			s.StartupSeconds = int64(vllm.DefaultReadyTimeout / time.Second)
		}
	}
	if s.SharedMemoryMiB == 0 {
		s.SharedMemoryMiB = defaultSharedMemoryMiB
	}
	return s, nil
}

// validateEndpointSettings checks the endpoint's kubernetes block; problems are *InputError.
func validateEndpointSettings(s EndpointSettings) []error {
	var problems []error
	bad := func(attr, summary, detail string) {
		problems = append(problems, &backend.InputError{Attribute: attr, Summary: summary, Detail: detail})
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("port", "invalid port", fmt.Sprintf("%d is not a port (1-65535).", s.Port))
	}
	switch corev1.ServiceType(s.ServiceType) {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
	default:
		bad("service_type", "invalid service type", fmt.Sprintf("%q is not a Service type: use \"ClusterIP\" or \"LoadBalancer\".", s.ServiceType))
	}
	if *s.MaxSurge < 0 || *s.MaxUnavailable < 0 || *s.MaxSurge+*s.MaxUnavailable == 0 {
		bad("max_surge", "invalid rolling update", "max_surge and max_unavailable must not be negative, and not both 0: a rollout could not make progress.")
	}
	if s.StartupSeconds < 0 {
		bad("startup_seconds", "invalid startup time", "startup_seconds must be positive.")
	}
	if s.SharedMemoryMiB < 0 {
		bad("shared_memory_mib", "invalid shared memory size", "shared_memory_mib must be positive.")
	}
	for i, c := range s.AllowedCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			bad(fmt.Sprintf("allowed_cidrs[%d]", i), "invalid CIDR", fmt.Sprintf("%q is not a CIDR block (e.g. 10.0.0.0/8).", c))
		}
	}
	return problems
}

// renderEndpoint renders an endpoint's objects. It is pure: the golden tests call it.
func renderEndpoint(in endpointInput) (*endpointObjects, error) {
	spec, set, cl := in.Spec, in.Settings, in.Cluster
	node := spec.Node
	node.Endpoint = spec.Name
	// vllm.Spec wants the key by reference. Here it reaches the container as VLLM_API_KEY from
	// the endpoint's Secret (secretKeyRef), so the reference only names where it lives; it is
	// rendered nowhere (ServeArgs never holds secrets).
	if node.Secrets.APIKey.IsZero() {
		node.Secrets.APIKey = vllm.SecretRef{Source: vllm.SecretFile, Name: "/var/run/secrets/" + SecretName(spec.Name) + "/" + SecretKeyAPIKey}
	}
	args, err := node.ServeArgs(ContainerPort)
	if err != nil {
		return nil, err
	}
	if err := checkEndpointSpec(spec); err != nil {
		return nil, err
	}
	ns, name := cl.Namespace, spec.Name
	objLabels := endpointLabels(cl.Name, name)
	sel := selectorLabels(cl.Name, name)
	podLabels := maps.Clone(objLabels)

	engine, err := json.Marshal(appliedEngineOf(node))
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(appliedSettings{Replicas: spec.Replicas, MinReplicas: spec.MinReplicas, MaxReplicas: spec.MaxReplicas,
		ScaleTarget: spec.ScaleTarget, Settings: set})
	if err != nil {
		return nil, err
	}

	secretData := map[string][]byte{SecretKeyAPIKey: []byte(spec.APIKey)}
	if spec.HFToken != "" {
		secretData[SecretKeyHFToken] = []byte(spec.HFToken)
	}
	secret := corev1ac.Secret(SecretName(name), ns).WithLabels(objLabels).WithType(corev1.SecretTypeOpaque).WithData(secretData)

	env := []*corev1ac.EnvVarApplyConfiguration{secretEnv(SecretKeyAPIKey, name)}
	if spec.HFToken != "" {
		env = append(env, secretEnv(SecretKeyHFToken, name))
	}
	for _, k := range sortedKeys(node.Env) {
		env = append(env, corev1ac.EnvVar().WithName(k).WithValue(node.Env[k]))
	}
	tp, pp := max(node.Engine.TensorParallelSize, 1), max(node.Engine.PipelineParallelSize, 1)
	multi := pp > 1
	gpus := int64(tp * pp)
	if multi {
		// One pod per pipeline stage: each takes its stage's tensor-parallel GPUs of one node.
		gpus = int64(tp)
		if node.GPUsPerReplica > 0 {
			gpus = int64((node.GPUsPerReplica + pp - 1) / pp)
		}
	} else if node.GPUsPerReplica > 0 {
		gpus = int64(node.GPUsPerReplica)
	}
	gpuList := corev1.ResourceList{ResourceGPU: *resource.NewQuantity(gpus, resource.DecimalSI)}
	http := intstr.FromString("http")
	health := func() *corev1ac.HTTPGetActionApplyConfiguration {
		return corev1ac.HTTPGetAction().WithPath("/health").WithPort(http)
	}
	startupThreshold := int32((set.StartupSeconds + startupPeriodSeconds - 1) / startupPeriodSeconds)
	newContainer := func(args []string) *corev1ac.ContainerApplyConfiguration {
		c := corev1ac.Container().WithName(ContainerName).
			WithImage(appliedEngineOf(node).Image).
			WithArgs(args...).
			WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(ContainerPort).WithProtocol(corev1.ProtocolTCP)).
			WithEnv(env...).
			WithResources(corev1ac.ResourceRequirements().WithLimits(gpuList).WithRequests(gpuList)).
			WithVolumeMounts(
				corev1ac.VolumeMount().WithName("dshm").WithMountPath("/dev/shm"),
				corev1ac.VolumeMount().WithName("hf-cache").WithMountPath(hfCacheMountPath),
			)
		if !multi {
			return c.
				WithStartupProbe(corev1ac.Probe().WithHTTPGet(health()).WithPeriodSeconds(startupPeriodSeconds).
					WithFailureThreshold(startupThreshold)).
				WithReadinessProbe(corev1ac.Probe().WithHTTPGet(health()).WithPeriodSeconds(5).WithFailureThreshold(3)).
				WithLivenessProbe(corev1ac.Probe().WithHTTPGet(health()).WithPeriodSeconds(10).WithFailureThreshold(6).WithTimeoutSeconds(5))
		}
		// Every rank runs this template; only the leader (rank 0) serves the API, so the probes
		// ask /health there and pass on the headless workers.
		probe := func() *corev1ac.ExecActionApplyConfiguration {
			return corev1ac.ExecAction().WithCommand(leaderHealthProbe...)
		}
		return c.WithCommand(multiNodeCommand...).
			WithEnv(
				corev1ac.EnvVar().WithName(EnvNodeRank).WithValueFrom(corev1ac.EnvVarSource().
					WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath("metadata.labels['"+appsv1.PodIndexLabel+"']"))),
				corev1ac.EnvVar().WithName("VLLM_HOST_IP").WithValueFrom(corev1ac.EnvVarSource().
					WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath("status.podIP"))),
			).
			WithPorts(corev1ac.ContainerPort().WithName("master").WithContainerPort(MasterPort).WithProtocol(corev1.ProtocolTCP)).
			WithStartupProbe(corev1ac.Probe().WithExec(probe()).WithPeriodSeconds(startupPeriodSeconds).WithTimeoutSeconds(5).
				WithFailureThreshold(startupThreshold)).
			WithReadinessProbe(corev1ac.Probe().WithExec(probe()).WithPeriodSeconds(5).WithTimeoutSeconds(5).WithFailureThreshold(3)).
			WithLivenessProbe(corev1ac.Probe().WithExec(probe()).WithPeriodSeconds(10).WithFailureThreshold(6).WithTimeoutSeconds(5))
	}

	cache := func() *corev1ac.VolumeApplyConfiguration {
		v := corev1ac.Volume().WithName("hf-cache")
		if cl.ModelCache != nil {
			return v.WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(ModelCacheClaimName(cl.Name)))
		}
		return v.WithEmptyDir(corev1ac.EmptyDirVolumeSource())
	}
	newTemplate := func(container *corev1ac.ContainerApplyConfiguration, extraLabels map[string]string) *corev1ac.PodTemplateSpecApplyConfiguration {
		pod := corev1ac.PodSpec().
			WithContainers(container).
			WithVolumes(
				corev1ac.Volume().WithName("dshm").WithEmptyDir(corev1ac.EmptyDirVolumeSource().WithMedium(corev1.StorageMediumMemory).
					WithSizeLimit(*resource.NewQuantity(set.SharedMemoryMiB<<20, resource.BinarySI))),
				cache(),
			).
			WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().WithMaxSkew(1).WithTopologyKey(corev1.LabelHostname).
				WithWhenUnsatisfiable(corev1.ScheduleAnyway).WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(sel)))
		if len(cl.NodeSelector) > 0 {
			pod = pod.WithNodeSelector(cl.NodeSelector)
		}
		for _, t := range cl.Tolerations {
			tol := corev1ac.Toleration()
			if t.Key != "" {
				tol = tol.WithKey(t.Key)
			}
			if t.Operator != "" {
				tol = tol.WithOperator(corev1.TolerationOperator(t.Operator))
			}
			if t.Value != "" {
				tol = tol.WithValue(t.Value)
			}
			if t.Effect != "" {
				tol = tol.WithEffect(corev1.TaintEffect(t.Effect))
			}
			if t.TolerationSeconds != nil {
				tol = tol.WithTolerationSeconds(*t.TolerationSeconds)
			}
			pod = pod.WithTolerations(tol)
		}
		if cl.RuntimeClass != "" {
			pod = pod.WithRuntimeClassName(cl.RuntimeClass)
		}
		tl := maps.Clone(podLabels)
		maps.Copy(tl, extraLabels)
		if len(extraLabels) > 0 {
			// The ranks of one group go to different nodes: a stage per node.
			pod = pod.WithAffinity(corev1ac.Affinity().WithPodAntiAffinity(corev1ac.PodAntiAffinity().
				WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.PodAffinityTerm().
					WithTopologyKey(corev1.LabelHostname).
					WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(groupSelector(sel, extraLabels[LabelGroup]))))))
		}
		return corev1ac.PodTemplateSpec().WithLabels(tl).
			WithAnnotations(map[string]string{AnnotationSpec: string(engine), AnnotationSecretVersion: in.SecretVersion}).
			WithSpec(pod)
	}

	var deployment *appsv1ac.DeploymentApplyConfiguration
	var groups []*appsv1ac.StatefulSetApplyConfiguration
	var headless *corev1ac.ServiceApplyConfiguration
	if !multi {
		depSpec := appsv1ac.DeploymentSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(sel)).
			WithStrategy(appsv1ac.DeploymentStrategy().WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
					WithMaxSurge(intstr.FromInt32(int32(*set.MaxSurge))).
					WithMaxUnavailable(intstr.FromInt32(int32(*set.MaxUnavailable))))).
			WithTemplate(newTemplate(newContainer(args), nil))
		if in.Replicas != nil {
			depSpec = depSpec.WithReplicas(*in.Replicas)
		}
		deployment = appsv1ac.Deployment(name, ns).WithLabels(objLabels).
			WithAnnotations(map[string]string{AnnotationSettings: string(settings)}).
			WithSpec(depSpec)
	} else {
		headless = corev1ac.Service(HeadlessServiceName(name), ns).WithLabels(objLabels).
			WithSpec(corev1ac.ServiceSpec().WithClusterIP(corev1.ClusterIPNone).WithSelector(sel).
				// The leader's name must resolve before it is ready: it is ready only once every
				// rank has joined it.
				WithPublishNotReadyAddresses(true).
				WithPorts(corev1ac.ServicePort().WithName("master").WithProtocol(corev1.ProtocolTCP).WithPort(MasterPort).
					WithTargetPort(intstr.FromString("master"))))
		for i := range int(spec.Replicas) {
			group := strconv.Itoa(i)
			gl := map[string]string{LabelGroup: group}
			groupArgs := append(slices.Clone(args), MultiNodeArgs(pp, LeaderHost(ns, name, i))...)
			stsLabels := maps.Clone(objLabels)
			maps.Copy(stsLabels, gl)
			groups = append(groups, appsv1ac.StatefulSet(GroupName(name, i), ns).WithLabels(stsLabels).
				WithAnnotations(map[string]string{AnnotationSettings: string(settings)}).
				WithSpec(appsv1ac.StatefulSetSpec().
					WithReplicas(int32(pp)).
					WithServiceName(HeadlessServiceName(name)).
					WithPodManagementPolicy(appsv1.ParallelPodManagement).
					WithSelector(metav1ac.LabelSelector().WithMatchLabels(groupSelector(sel, group))).
					WithUpdateStrategy(appsv1ac.StatefulSetUpdateStrategy().WithType(appsv1.RollingUpdateStatefulSetStrategyType)).
					WithTemplate(newTemplate(newContainer(groupArgs), gl))))
		}
	}

	svcSel := sel
	if multi {
		// Only the leaders serve the API.
		svcSel = maps.Clone(sel)
		svcSel[appsv1.PodIndexLabel] = "0"
	}
	svc := corev1ac.ServiceSpec().WithType(corev1.ServiceType(set.ServiceType)).WithSelector(svcSel).
		WithPorts(corev1ac.ServicePort().WithName("http").WithProtocol(corev1.ProtocolTCP).WithPort(int32(set.Port)).WithTargetPort(http))
	service := corev1ac.Service(name, ns).WithLabels(objLabels).WithSpec(svc)
	if len(set.ServiceAnnotations) > 0 {
		service = service.WithAnnotations(set.ServiceAnnotations)
	}

	pdb := policyv1ac.PodDisruptionBudget(name, ns).WithLabels(objLabels).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(sel)))

	var from []*networkingv1ac.NetworkPolicyPeerApplyConfiguration
	if len(set.AllowedNamespaces) > 0 {
		from = append(from, networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().WithMatchExpressions(
			metav1ac.LabelSelectorRequirement().WithKey(corev1.LabelMetadataName).WithOperator(metav1.LabelSelectorOpIn).
				WithValues(set.AllowedNamespaces...))))
	}
	for _, c := range set.AllowedCIDRs {
		from = append(from, networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(c)))
	}
	if len(from) == 0 {
		from = append(from, networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()))
	}
	npSpec := networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(sel)).
		WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().
			WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(ContainerPort))).
			WithFrom(from...))
	if multi {
		// The ranks of a group talk to each other on every port (torch.distributed, NCCL).
		npSpec = npSpec.WithIngress(networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(sel))))
	}
	np := networkingv1ac.NetworkPolicy(name, ns).WithLabels(objLabels).WithSpec(npSpec)

	out := &endpointObjects{Secret: secret, Deployment: deployment, StatefulSets: groups, Headless: headless,
		Service: service, PDB: pdb, NetworkPolicy: np}
	if t := spec.ScaleTarget; t != nil {
		if _, ok := vllm.ServingMetrics[t.Metric]; !ok {
			return nil, &backend.InputError{Attribute: "autoscaling.target.metric", Summary: "unknown scaling metric",
				Detail: fmt.Sprintf("%q is not a serving signal: use one of %s.", t.Metric, strings.Join(backend.ScaleMetrics, ", "))}
		}
		target, err := resource.ParseQuantity(strconv.FormatFloat(t.Value, 'f', -1, 64))
		if err != nil || t.Value <= 0 {
			return nil, &backend.InputError{Attribute: "autoscaling.target.value", Summary: "invalid scaling target",
				Detail: fmt.Sprintf("%g cannot be a per-replica target: use a positive number.", t.Value)}
		}
		out.HPA = autoscalingv2ac.HorizontalPodAutoscaler(name, ns).WithLabels(objLabels).
			WithSpec(autoscalingv2ac.HorizontalPodAutoscalerSpec().
				WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().WithAPIVersion("apps/v1").WithKind("Deployment").WithName(name)).
				WithMinReplicas(int32(max(spec.MinReplicas, 1))).
				WithMaxReplicas(int32(max(spec.MaxReplicas, spec.MinReplicas, 1))).
				WithMetrics(autoscalingv2ac.MetricSpec().WithType(autoscalingv2.PodsMetricSourceType).
					WithPods(autoscalingv2ac.PodsMetricSource().
						WithMetric(autoscalingv2ac.MetricIdentifier().WithName(MetricName(t.Metric))).
						WithTarget(autoscalingv2ac.MetricTarget().WithType(autoscalingv2.AverageValueMetricType).WithAverageValue(target)))))
	}
	return out, nil
}

// checkEndpointSpec refuses what a Kubernetes endpoint cannot do; problems are *InputError.
func checkEndpointSpec(spec backend.EndpointSpec) error {
	var problems []error
	for i, a := range spec.Node.LoRAAdapters {
		if strings.HasPrefix(a.Source, "/") {
			problems = append(problems, &backend.InputError{Attribute: fmt.Sprintf("%s[%d].source", vllm.AttrLoRAAdapters, i),
				Summary: "LoRA adapter path on a node",
				Detail: fmt.Sprintf("%q is a path on a node, which pods of a Kubernetes cluster cannot see: use the adapter's Hugging Face "+
					"repository id (owner/name) instead, and vLLM downloads it like the model.", a.Source)})
		}
	}
	if spec.Node.Engine.PipelineParallelSize > 1 && spec.ScaleTarget != nil {
		problems = append(problems, &backend.InputError{Attribute: "autoscaling.target", Summary: "autoscaling a multi-node endpoint",
			Detail: fmt.Sprintf("engine.pipeline_parallel_size = %d runs each replica as a group of pods, one per node, which a "+
				"HorizontalPodAutoscaler cannot scale: remove autoscaling.target and set replicas.", spec.Node.Engine.PipelineParallelSize)})
	}
	return errors.Join(problems...)
}

func secretEnv(key, endpoint string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(key).WithValueFrom(corev1ac.EnvVarSource().
		WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(SecretName(endpoint)).WithKey(key)))
}

// appliedEngineOf is the vLLM settings of node as the other backends' specs read back: the
// defaults filled in, pipeline parallelism only when above 1 (as ServeArgs renders it).
func appliedEngineOf(node vllm.Spec) appliedEngine {
	e := node.Engine
	out := appliedEngine{AppliedSpec: vllm.AppliedSpec{
		Model: node.Model.ID, Revision: node.Model.Revision, ServedModelName: node.ServedModelName, Image: e.Image,
		TensorParallelSize: max(e.TensorParallelSize, 1), MaxModelLen: e.MaxModelLen, MaxNumSeqs: e.MaxNumSeqs,
		GPUMemoryUtilization: e.GPUMemoryUtilization, DType: e.DType, Quantization: e.Quantization, KVCacheDType: e.KVCacheDType,
		EnablePrefixCaching: e.EnablePrefixCaching, ExtraArgs: e.ExtraArgs,
	}, LoRAAdapters: node.LoRAAdapters}
	if out.ServedModelName == "" {
		out.ServedModelName = node.Model.ID
	}
	if out.Image == "" {
		out.Image = vllm.DefaultImage
	}
	if e.PipelineParallelSize > 1 {
		out.PipelineParallelSize = e.PipelineParallelSize
	}
	return out
}

func ptr[T any](v T) *T { return &v }
