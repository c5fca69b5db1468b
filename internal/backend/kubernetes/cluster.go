package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// Labels and annotations of the objects the backend writes.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelName       = "app.kubernetes.io/name"
	LabelInstance   = "app.kubernetes.io/instance"
	LabelCluster    = "inferstack.io/cluster"
	LabelEndpoint   = "inferstack.io/endpoint"
	ManagedByValue  = "inferstack"
	AppName         = "vllm"
	LabelGPUProduct = "nvidia.com/gpu.product"
	LabelGPUMemory  = "nvidia.com/gpu.memory"
	// ResourceGPU is the extended resource of NVIDIA's device plugin.
	ResourceGPU = corev1.ResourceName("nvidia.com/gpu")
	// AnnotationCreatedBy on a namespace names the cluster that created it; only that cluster's
	// delete removes it, and only when no other inferstack cluster lives in it.
	AnnotationCreatedBy = "inferstack.io/created-by-cluster"
	// clusterSpecKey is the ConfigMap key holding the ClusterSpec as JSON.
	clusterSpecKey = "spec.json"
)

// pollInterval is how often waits ask the API server.
var pollInterval = 2 * time.Second

// ClusterID is the ID of cluster name in namespace: "kubernetes/<namespace>/<name>".
func ClusterID(namespace, name string) string { return Name + "/" + namespace + "/" + name }

// ParseClusterID splits "kubernetes/<namespace>/<name>" (or "<namespace>/<name>").
func ParseClusterID(id string) (namespace, name string, err error) {
	parts := strings.Split(strings.TrimPrefix(id, Name+"/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("%q is not a Kubernetes inference cluster id: it is %s/<namespace>/<name>", id, Name)
	}
	// Both parts name API objects and go into request paths: anything but DNS labels is refused
	// here, before a request is made.
	for _, p := range parts {
		if errs := validation.IsDNS1123Label(p); len(errs) > 0 {
			return "", "", fmt.Errorf("%q is not a Kubernetes inference cluster id: %q is not a namespace or cluster name (%s)",
				id, p, strings.Join(errs, "; "))
		}
	}
	return parts[0], parts[1], nil
}

// ConfigMapName is the ConfigMap holding cluster name's settings.
func ConfigMapName(cluster string) string { return "inferstack-cluster-" + cluster }

// ModelCacheClaimName is the PersistentVolumeClaim of cluster name's model cache.
func ModelCacheClaimName(cluster string) string { return "inferstack-" + cluster + "-model-cache" }

func clusterLabels(cluster string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedByValue, LabelCluster: cluster}
}

func (b *Backend) Name() string { return Name }

func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{Autoscaling: true, ScaleTargets: true, SharedURL: true}
}

func clusterSpecOf(spec backend.ClusterSpec) (ClusterSpec, error) {
	s, ok := spec.Settings.(*ClusterSpec)
	if !ok || s == nil {
		return ClusterSpec{}, fmt.Errorf("kubernetes backend: cluster settings of type %T: this is a bug in the provider", spec.Settings)
	}
	out := *s
	out.Name = spec.Name
	return out, nil
}

func (b *Backend) ClusterID(_ context.Context, spec backend.ClusterSpec) (string, error) {
	s, err := clusterSpecOf(spec)
	if err != nil {
		return "", err
	}
	if err := validateCluster(s); err != nil {
		return "", err
	}
	return ClusterID(s.Namespace, s.Name), nil
}

func (b *Backend) ImportClusterID(_ context.Context, importID string) (string, error) {
	ns, name, err := ParseClusterID(importID)
	if err != nil {
		return "", err
	}
	return ClusterID(ns, name), nil
}

// ClusterKey is the ID: namespace and name make the cluster.
func (b *Backend) ClusterKey(id string) string { return id }

// validateCluster checks the block without the API server; every problem is an *InputError.
func validateCluster(s ClusterSpec) error {
	var problems []error
	bad := func(attr, summary, detail string) {
		problems = append(problems, &backend.InputError{Attribute: attr, Summary: summary, Detail: detail})
	}
	if msgs := validation.IsDNS1123Label(s.Namespace); len(msgs) > 0 {
		bad("namespace", "invalid namespace", fmt.Sprintf("%q is not a namespace name: %s. Use lower-case letters, digits and dashes (at most 63).", s.Namespace, strings.Join(msgs, "; ")))
	}
	if msgs := validation.IsDNS1123Label(s.Name); len(msgs) > 0 {
		bad("name", "invalid cluster name", fmt.Sprintf("%q cannot name Kubernetes objects: %s.", s.Name, strings.Join(msgs, "; ")))
	} else if len(ConfigMapName(s.Name)) > validation.DNS1123LabelMaxLength {
		bad("name", "cluster name too long", fmt.Sprintf("%q is too long: the cluster's ConfigMap %s must be at most 63 characters.", s.Name, ConfigMapName(s.Name)))
	}
	for _, k := range sortedKeys(s.NodeSelector) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			bad("node_selector", "invalid node selector key", fmt.Sprintf("%q is not a label key: %s.", k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(s.NodeSelector[k]); len(msgs) > 0 {
			bad("node_selector", "invalid node selector value", fmt.Sprintf("%q (of %s) is not a label value: %s.", s.NodeSelector[k], k, strings.Join(msgs, "; ")))
		}
	}
	for i, t := range s.Tolerations {
		at := fmt.Sprintf("tolerations[%d].", i)
		switch corev1.TolerationOperator(t.Operator) {
		case "", corev1.TolerationOpEqual:
			if t.Key == "" {
				bad(at+"operator", "invalid toleration", "A toleration without a key must use operator \"Exists\" (it then tolerates every taint).")
			}
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
				bad(at+"value", "invalid toleration value", fmt.Sprintf("%q is not a taint value: %s.", t.Value, strings.Join(msgs, "; ")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				bad(at+"value", "invalid toleration", "Operator \"Exists\" takes no value: remove value, or use operator \"Equal\".")
			}
		default:
			bad(at+"operator", "invalid toleration operator", fmt.Sprintf("%q is not a toleration operator: use \"Equal\" or \"Exists\".", t.Operator))
		}
		if t.Key != "" {
			if msgs := validation.IsQualifiedName(t.Key); len(msgs) > 0 {
				bad(at+"key", "invalid toleration key", fmt.Sprintf("%q is not a taint key: %s.", t.Key, strings.Join(msgs, "; ")))
			}
		}
		switch corev1.TaintEffect(t.Effect) {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			bad(at+"effect", "invalid toleration effect", fmt.Sprintf("%q is not a taint effect: use \"NoSchedule\", \"PreferNoSchedule\" or \"NoExecute\" (empty: all).", t.Effect))
		}
		if t.TolerationSeconds != nil && corev1.TaintEffect(t.Effect) != corev1.TaintEffectNoExecute {
			bad(at+"toleration_seconds", "invalid toleration", "toleration_seconds applies only to effect \"NoExecute\": remove it or set that effect.")
		}
	}
	if s.RuntimeClass != "" {
		if msgs := validation.IsDNS1123Subdomain(s.RuntimeClass); len(msgs) > 0 {
			bad("runtime_class", "invalid runtime class", fmt.Sprintf("%q is not a RuntimeClass name: %s.", s.RuntimeClass, strings.Join(msgs, "; ")))
		}
	}
	if c := s.ModelCache; c != nil {
		if c.SizeGiB < 1 {
			bad("model_cache.size_gib", "invalid model cache size", fmt.Sprintf("%d GiB: the model cache needs at least 1 GiB; size it for the weights of every model the cluster serves.", c.SizeGiB))
		}
		if c.StorageClass != "" {
			if msgs := validation.IsDNS1123Subdomain(c.StorageClass); len(msgs) > 0 {
				bad("model_cache.storage_class", "invalid storage class", fmt.Sprintf("%q is not a StorageClass name: %s.", c.StorageClass, strings.Join(msgs, "; ")))
			}
		}
	}
	return errors.Join(problems...)
}

// normalizeCluster makes equal specs compare equal: nil and empty alike.
func normalizeCluster(s ClusterSpec) ClusterSpec {
	if len(s.NodeSelector) == 0 {
		s.NodeSelector = nil
	}
	if len(s.Tolerations) == 0 {
		s.Tolerations = nil
	}
	return s
}

// PlanCluster validates the block; a change of namespace replaces the cluster. When the block is
// new or changed and the API server answers, it warns about a node selector no schedulable node
// matches and a runtime class that does not exist.
func (b *Backend) PlanCluster(ctx context.Context, spec backend.ClusterSpec, prior *backend.ClusterSpec) (*backend.ClusterPlan, error) {
	s, err := clusterSpecOf(spec)
	if err != nil {
		return nil, err
	}
	if err := validateCluster(s); err != nil {
		return nil, err
	}
	plan := &backend.ClusterPlan{ID: ClusterID(s.Namespace, s.Name)}
	changed := true
	if prior != nil {
		if p, err := clusterSpecOf(*prior); err == nil {
			if p.Namespace != s.Namespace {
				plan.Replace = append(plan.Replace, "namespace")
			}
			changed = !reflect.DeepEqual(normalizeCluster(p), normalizeCluster(s))
		}
	}
	if !changed {
		return plan, nil
	}
	c, err := b.clientset()
	if err != nil {
		return plan, nil // checked again at apply, where the error is reported
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	nodes, err := poolNodes(ctx, c, s.NodeSelector)
	if err == nil && len(nodes) == 0 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("No schedulable node matches the node selector %s: endpoints of this cluster will stay Pending until one does.",
			selectorString(s.NodeSelector)))
	}
	if s.RuntimeClass != "" {
		_, err := c.NodeV1().RuntimeClasses().Get(ctx, s.RuntimeClass, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("RuntimeClass %q does not exist: pods of this cluster's endpoints will be refused until it does "+
				"(the NVIDIA GPU operator creates \"nvidia\").", s.RuntimeClass))
		}
	}
	return plan, nil
}

func selectorString(sel map[string]string) string {
	if len(sel) == 0 {
		return "(none)"
	}
	return labels.SelectorFromSet(sel).String()
}

// EnsureCluster creates the namespace when it is missing (labelled and annotated as ours), and
// applies the cluster's ConfigMap and model-cache claim.
func (b *Backend) EnsureCluster(ctx context.Context, _ string, spec backend.ClusterSpec) (*backend.Cluster, error) {
	s, err := clusterSpecOf(spec)
	if err != nil {
		return nil, err
	}
	if err := validateCluster(s); err != nil {
		return nil, err
	}
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	id := ClusterID(s.Namespace, s.Name)
	apply := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns, err := c.CoreV1().Namespaces().Get(ctx, s.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		nsAC := corev1ac.Namespace(s.Namespace).
			WithLabels(map[string]string{LabelManagedBy: ManagedByValue}).
			WithAnnotations(map[string]string{AnnotationCreatedBy: s.Name})
		if _, err := c.CoreV1().Namespaces().Apply(ctx, nsAC, apply); err != nil {
			return nil, fmt.Errorf("creating namespace %s of inference cluster %s: %w", s.Namespace, id, err)
		}
	case err != nil:
		return nil, fmt.Errorf("reading namespace %s of inference cluster %s: %w", s.Namespace, id, err)
	case ns.Status.Phase == corev1.NamespaceTerminating:
		return nil, fmt.Errorf("namespace %s of inference cluster %s is being deleted: wait until it is gone, then apply again", s.Namespace, id)
	}
	existing, err := c.CoreV1().ConfigMaps(s.Namespace).Get(ctx, ConfigMapName(s.Name), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading ConfigMap %s of inference cluster %s: %w", ConfigMapName(s.Name), id, err)
	case existing.Labels[LabelManagedBy] != ManagedByValue || existing.Labels[LabelCluster] != s.Name:
		return nil, &backend.InputError{Attribute: "name", Summary: "name taken",
			Detail: fmt.Sprintf("ConfigMap %s/%s exists and is not labelled as inference cluster %s's (%s=%s): the provider does not take over "+
				"objects it did not make. Choose another name, or delete that ConfigMap.", s.Namespace, existing.Name, s.Name, LabelCluster, s.Name)}
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	cm := corev1ac.ConfigMap(ConfigMapName(s.Name), s.Namespace).
		WithLabels(clusterLabels(s.Name)).
		WithData(map[string]string{clusterSpecKey: string(data)})
	if _, err := c.CoreV1().ConfigMaps(s.Namespace).Apply(ctx, cm, apply); err != nil {
		return nil, fmt.Errorf("applying ConfigMap %s of inference cluster %s: %w", ConfigMapName(s.Name), id, err)
	}
	claims := c.CoreV1().PersistentVolumeClaims(s.Namespace)
	if s.ModelCache != nil {
		if _, err := claims.Apply(ctx, renderModelCache(s), apply); err != nil {
			return nil, fmt.Errorf("applying the model cache claim %s of inference cluster %s: %w", ModelCacheClaimName(s.Name), id, err)
		}
	} else if err := deleteOurs(ctx, claimsDeleter{c, s.Namespace}, ModelCacheClaimName(s.Name), s.Name); err != nil {
		return nil, fmt.Errorf("deleting the model cache claim %s of inference cluster %s: %w", ModelCacheClaimName(s.Name), id, err)
	}
	return b.FindCluster(ctx, id)
}

// renderModelCache is the model cache's claim: ReadWriteMany, so replicas on every node share
// the downloaded weights.
func renderModelCache(s ClusterSpec) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteMany).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{
			corev1.ResourceStorage: *resource.NewQuantity(s.ModelCache.SizeGiB<<30, resource.BinarySI),
		}))
	if s.ModelCache.StorageClass != "" {
		spec = spec.WithStorageClassName(s.ModelCache.StorageClass)
	}
	return corev1ac.PersistentVolumeClaim(ModelCacheClaimName(s.Name), s.Namespace).
		WithLabels(clusterLabels(s.Name)).
		WithSpec(spec)
}

// claimsDeleter reads and deletes PersistentVolumeClaims of a namespace (deleteOurs).
type claimsDeleter struct {
	c  k8s.Interface
	ns string
}

func (d claimsDeleter) labels(ctx context.Context, name string) (map[string]string, error) {
	o, err := d.c.CoreV1().PersistentVolumeClaims(d.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return o.Labels, nil
}

func (d claimsDeleter) delete(ctx context.Context, name string) error {
	return d.c.CoreV1().PersistentVolumeClaims(d.ns).Delete(ctx, name, metav1.DeleteOptions{})
}

// deleteOurs deletes the object name when it is labelled for cluster; absent is no error.
func deleteOurs(ctx context.Context, d interface {
	labels(context.Context, string) (map[string]string, error)
	delete(context.Context, string) error
}, name, cluster string) error {
	l, err := d.labels(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if l[LabelCluster] != cluster || l[LabelManagedBy] != ManagedByValue {
		return nil
	}
	if err := d.delete(ctx, name); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// readCluster reads the cluster's stored spec; ErrNotFound when its ConfigMap is gone.
func readCluster(ctx context.Context, c k8s.Interface, id string) (ClusterSpec, error) {
	ns, name, err := ParseClusterID(id)
	if err != nil {
		return ClusterSpec{}, err
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ClusterSpec{}, fmt.Errorf("inference cluster %s: ConfigMap %s/%s: %w", id, ns, ConfigMapName(name), backend.ErrNotFound)
	}
	if err != nil {
		return ClusterSpec{}, fmt.Errorf("reading inference cluster %s: %w", id, err)
	}
	var s ClusterSpec
	if err := json.Unmarshal([]byte(cm.Data[clusterSpecKey]), &s); err != nil {
		return ClusterSpec{}, fmt.Errorf("reading inference cluster %s: ConfigMap %s/%s holds no cluster spec (%v): apply the cluster again", id, ns, cm.Name, err)
	}
	s.Name, s.Namespace = name, ns
	return s, nil
}

// FindCluster reads the cluster's stored settings and its pool's nodes.
func (b *Backend) FindCluster(ctx context.Context, id string) (*backend.Cluster, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	s, err := readCluster(ctx, c, id)
	if err != nil {
		return nil, err
	}
	out := &backend.Cluster{ID: id, Name: s.Name}
	if s.ModelCache != nil {
		_, err := c.CoreV1().PersistentVolumeClaims(s.Namespace).Get(ctx, ModelCacheClaimName(s.Name), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			out.Missing = append(out.Missing, "PersistentVolumeClaim "+s.Namespace+"/"+ModelCacheClaimName(s.Name))
		case err != nil:
			return nil, fmt.Errorf("reading the model cache claim of inference cluster %s: %w", id, err)
		}
	}
	nodes, err := poolNodes(ctx, c, s.NodeSelector)
	switch {
	case apierrors.IsForbidden(err):
		out.Warnings = append(out.Warnings, "The provider's Kubernetes identity may not list nodes, so the pool's nodes and GPUs are unknown: grant it list on nodes.")
	case err != nil:
		return nil, fmt.Errorf("listing the nodes of inference cluster %s: %w", id, err)
	}
	out.Details = &ClusterDetails{Spec: s, Nodes: nodes}
	return out, nil
}

// poolNodes lists the schedulable nodes matching selector, sorted by name.
func poolNodes(ctx context.Context, c k8s.Interface, selector map[string]string) ([]Node, error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(selector).String()})
	if err != nil {
		return nil, err
	}
	var out []Node
	for _, n := range list.Items {
		if n.Spec.Unschedulable {
			continue
		}
		out = append(out, nodeOf(n))
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func nodeOf(n corev1.Node) Node {
	out := Node{Name: n.Name, GPUProduct: n.Labels[LabelGPUProduct]}
	if q, ok := n.Status.Allocatable[ResourceGPU]; ok {
		out.GPUs = q.Value()
	}
	if m, err := strconv.ParseInt(n.Labels[LabelGPUMemory], 10, 64); err == nil && m > 0 {
		out.GPUMemoryMiB = m
	}
	return out
}

// WaitClusterReady waits until the cluster's namespace is Active.
func (b *Backend) WaitClusterReady(ctx context.Context, id string) (*backend.Cluster, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	ns, _, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	err = wait.Until(ctx, pollInterval, "namespace "+ns+" of inference cluster "+id+" to be active", func(ctx context.Context) (bool, error, error) {
		n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, nil, fmt.Errorf("reading namespace %s: %w", ns, err)
		}
		if n.Status.Phase != corev1.NamespaceActive {
			return false, fmt.Errorf("namespace %s is %s", ns, n.Status.Phase), nil
		}
		return true, nil, nil
	})
	if err != nil {
		return nil, err
	}
	return b.FindCluster(ctx, id)
}

// ClusterCapacity is the largest node of the pool (its GPUs, product and memory per GPU) and the
// GPUs of every node. nil when no node reports GPUs, or the largest node's GPU memory is unknown
// (no GPU feature discovery labels), so the endpoint's plan checks nothing it cannot know.
func (b *Backend) ClusterCapacity(ctx context.Context, id string) (*backend.Capacity, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	s, err := readCluster(ctx, c, id)
	if err != nil {
		return nil, err
	}
	nodes, err := poolNodes(ctx, c, s.NodeSelector)
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of inference cluster %s: %w", id, err)
	}
	return capacityOf(nodes), nil
}

func capacityOf(nodes []Node) *backend.Capacity {
	var largest *Node
	var total int64
	for i, n := range nodes {
		total += n.GPUs
		if n.GPUs > 0 && (largest == nil || n.GPUs > largest.GPUs) {
			largest = &nodes[i]
		}
	}
	if largest == nil || largest.GPUMemoryMiB == 0 {
		return nil
	}
	out := &backend.Capacity{GPUModel: largest.GPUProduct, GPUMemoryMiB: largest.GPUMemoryMiB, GPUsPerNode: largest.GPUs, TotalGPUs: total,
		StagesSpanNodes: true}
	for _, n := range nodes {
		if n.GPUs > 0 {
			out.NodeGPUs = append(out.NodeGPUs, n.GPUs)
		}
	}
	return out
}

// DeleteCluster refuses while endpoints of the cluster exist; then deletes its ConfigMap, its
// model cache claim and, when the cluster created it and no other inferstack cluster lives in
// it, the namespace, and waits until they are gone.
func (b *Backend) DeleteCluster(ctx context.Context, id string) ([]string, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	ns, name, err := ParseClusterID(id)
	if err != nil {
		return nil, err
	}
	deps, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(clusterLabels(name)).String()})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("listing the endpoints of inference cluster %s: %w", id, err)
	}
	sets, err := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(clusterLabels(name)).String()})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("listing the endpoints of inference cluster %s: %w", id, err)
	}
	var names []string
	if deps != nil {
		for _, d := range deps.Items {
			names = append(names, d.Name)
		}
	}
	if sets != nil {
		for _, s := range sets.Items {
			names = append(names, s.Labels[LabelEndpoint])
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return nil, fmt.Errorf("inference cluster %s still has model endpoints: %s; delete them first", id, strings.Join(slices.Compact(names), ", "))
	}
	if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, ConfigMapName(name), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deleting ConfigMap %s of inference cluster %s: %w", ConfigMapName(name), id, err)
	}
	if err := deleteOurs(ctx, claimsDeleter{c, ns}, ModelCacheClaimName(name), name); err != nil {
		return nil, fmt.Errorf("deleting the model cache claim of inference cluster %s: %w", id, err)
	}
	deleteNS := false
	n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading namespace %s of inference cluster %s: %w", ns, id, err)
	case n.Annotations[AnnotationCreatedBy] == name && n.Labels[LabelManagedBy] == ManagedByValue:
		others, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedByValue + "," + LabelCluster})
		if err != nil {
			return nil, fmt.Errorf("listing the inference clusters in namespace %s: %w", ns, err)
		}
		deleteNS = len(others.Items) == 0
	}
	if deleteNS {
		if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("deleting namespace %s of inference cluster %s: %w", ns, id, err)
		}
	}
	err = wait.Until(ctx, pollInterval, "inference cluster "+id+" to be deleted", func(ctx context.Context) (bool, error, error) {
		var left []string
		if _, err := c.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName(name), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, "ConfigMap "+ConfigMapName(name))
		}
		if l, err := (claimsDeleter{c, ns}).labels(ctx, ModelCacheClaimName(name)); err == nil && l[LabelCluster] == name {
			left = append(left, "PersistentVolumeClaim "+ModelCacheClaimName(name))
		}
		if deleteNS {
			if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = append(left, "namespace "+ns)
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("still there: %s", strings.Join(left, ", ")), nil
		}
		return true, nil, nil
	})
	return nil, err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
