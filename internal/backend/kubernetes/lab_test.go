package kubernetes_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/kubernetes"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// These tests run against the shared control plane (acctest.Kubernetes: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, with GPU nodes gpu-l40s-1 NVIDIA-L40S x2 and
// gpu-a100-1 NVIDIA-A100-SXM4-80GB x4). kwok marks pods Running and Ready: vLLM never really
// runs, so readiness here is the control plane's, which is what the backend waits for.

func TestMain(m *testing.M) {
	kubernetes.SetPollInterval(250 * time.Millisecond)
	acctest.Main(m)
}

func newBackend(t *testing.T) (*kubernetes.Backend, k8s.Interface) {
	t.Helper()
	lab := acctest.Kubernetes(t)
	b := kubernetes.New(kubernetes.Config{Host: lab.Host, Token: lab.Token, ClusterCACertificate: string(lab.CACertPEM), UserAgent: "inferstack-test"})
	return b, lab.Client()
}

func labContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return backend.WithProgress(ctx, func(source, message string) { t.Logf("progress: %s: %s", source, message) })
}

func clusterSpec(name, ns string, sel map[string]string) backend.ClusterSpec {
	return backend.ClusterSpec{Name: name, Settings: &kubernetes.ClusterSpec{Namespace: ns, NodeSelector: sel,
		Tolerations: []kubernetes.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}}}
}

// ensureCluster makes a cluster in a namespace of its own and deletes it at the end.
func ensureCluster(t *testing.T, b *kubernetes.Backend, sel map[string]string) string {
	t.Helper()
	ctx := labContext(t, 2*time.Minute)
	spec := clusterSpec("gpu", acctest.TestName("ns"), sel)
	id, err := b.ClusterID(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureCluster(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitClusterReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ns, _, _ := kubernetes.ParseClusterID(id)
		if deps, err := clientOf(t).AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelCluster}); err == nil {
			for _, d := range deps.Items {
				_, _ = b.DeleteEndpoint(ctx, id, d.Name, backend.DeleteOptions{})
			}
		}
		if sets, err := clientOf(t).AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelEndpoint}); err == nil {
			for _, s := range sets.Items {
				_, _ = b.DeleteEndpoint(ctx, id, s.Labels[kubernetes.LabelEndpoint], backend.DeleteOptions{})
			}
		}
		if _, err := b.DeleteCluster(ctx, id); err != nil {
			t.Errorf("cleanup: deleting cluster %s: %v", id, err)
		}
	})
	return id
}

func clientOf(t *testing.T) k8s.Interface { return acctest.Kubernetes(t).Client() }

func endpointSpec(clusterID, name string, replicas int64) backend.EndpointSpec {
	return backend.EndpointSpec{
		ClusterID: clusterID, Name: name, Replicas: replicas,
		Node: vllm.Spec{
			Model:        vllm.Model{ID: "Qwen/Qwen2.5-0.5B-Instruct", Revision: "7ae557604adf67be50417f59c2c2f167def9a775"},
			Engine:       vllm.Engine{TensorParallelSize: 1},
			ReadyTimeout: 5 * time.Minute,
		},
		APIKey: "sk-lab-key", HFToken: "hf_lab_token",
	}
}

func TestLabCluster(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	ctx := labContext(t, 3*time.Minute)
	ns := acctest.TestName("ns")
	sel := map[string]string{"nvidia.com/gpu.product": "NVIDIA-L40S"}
	spec := clusterSpec("gpu", ns, sel)

	plan, err := b.PlanCluster(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan.ID != "kubernetes/"+ns+"/gpu" || len(plan.Warnings) > 0 {
		t.Errorf("plan = %+v", plan)
	}
	nomatch := clusterSpec("gpu", ns, map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100"})
	nomatch.Settings.(*kubernetes.ClusterSpec).RuntimeClass = "nvidia"
	plan, err = b.PlanCluster(ctx, nomatch, &spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) != 2 || !strings.Contains(plan.Warnings[0], "No schedulable node") || !strings.Contains(plan.Warnings[1], "RuntimeClass") {
		t.Errorf("warnings = %q", plan.Warnings)
	}
	moved := clusterSpec("gpu", ns+"-b", sel)
	if plan, err = b.PlanCluster(ctx, moved, &spec); err != nil || !slices.Equal(plan.Replace, []string{"namespace"}) {
		t.Errorf("namespace change: plan %+v, %v", plan, err)
	}
	bad := clusterSpec("gpu", "Bad_NS", sel)
	if _, err := b.PlanCluster(ctx, bad, nil); len(backend.InputErrors(err)) != 1 || backend.InputErrors(err)[0].Attribute != "namespace" {
		t.Errorf("bad namespace: %v", err)
	}

	if _, err := b.EnsureCluster(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureCluster(ctx, plan.ID, spec); err != nil { // idempotent
		t.Fatal(err)
	}
	id := kubernetes.ClusterID(ns, "gpu")
	cl, err := b.WaitClusterReady(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	d := cl.Details.(*kubernetes.ClusterDetails)
	want := []kubernetes.Node{{Name: acctest.KubeNodeL40S, GPUProduct: "NVIDIA-L40S", GPUs: 2, GPUMemoryMiB: 46068}}
	if !slices.Equal(d.Nodes, want) || d.Spec.Namespace != ns || d.Spec.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-L40S" || len(d.Spec.Tolerations) != 1 {
		t.Errorf("details = %+v", d)
	}
	capa, err := b.ClusterCapacity(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if capa == nil || !reflect.DeepEqual(*capa, backend.Capacity{GPUModel: "NVIDIA-L40S", GPUMemoryMiB: 46068, GPUsPerNode: 2, TotalGPUs: 2,
		StagesSpanNodes: true, NodeGPUs: []int64{2}}) {
		t.Errorf("capacity = %+v", capa)
	}
	n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || n.Annotations[kubernetes.AnnotationCreatedBy] != "gpu" || n.Labels[kubernetes.LabelManagedBy] != "inferstack" {
		t.Errorf("namespace %s: %+v, %v", ns, n.ObjectMeta, err)
	}

	// A second cluster in the namespace keeps it alive when the first goes.
	other := clusterSpec("other", ns, nil)
	if _, err := b.EnsureCluster(ctx, "", other); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteCluster(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindCluster(ctx, id); !backend.IsNotFound(err) {
		t.Errorf("FindCluster after delete: %v, want not found", err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s went with another cluster in it: %v", ns, err)
	}
	// The other cluster did not create the namespace: deleting it leaves the namespace.
	if _, err := b.DeleteCluster(ctx, kubernetes.ClusterID(ns, "other")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s deleted by a cluster that did not create it: %v", ns, err)
	}
	_ = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if _, err := b.DeleteCluster(ctx, id); err != nil { // absent: success
		t.Errorf("deleting an absent cluster: %v", err)
	}
}

func TestLabClusterDeletesItsNamespace(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	ctx := labContext(t, 3*time.Minute)
	ns := acctest.TestName("ns")
	spec := clusterSpec("gpu", ns, nil)
	spec.Settings.(*kubernetes.ClusterSpec).ModelCache = &kubernetes.ModelCache{SizeGiB: 100}
	if _, err := b.EnsureCluster(ctx, "", spec); err != nil {
		t.Fatal(err)
	}
	id := kubernetes.ClusterID(ns, "gpu")
	pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, kubernetes.ModelCacheClaimName("gpu"), metav1.GetOptions{})
	if err != nil || pvc.Spec.AccessModes[0] != corev1.ReadWriteMany || pvc.Spec.Resources.Requests.Storage().String() != "100Gi" {
		t.Fatalf("model cache claim: %+v, %v", pvc, err)
	}
	if _, err := b.DeleteCluster(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s after delete: %v, want gone", ns, err)
	}
}

func TestLabEndpoint(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	id := ensureCluster(t, b, nil)
	ns, _, _ := kubernetes.ParseClusterID(id)
	ctx := labContext(t, 5*time.Minute)
	name := acctest.TestName("ep")
	spec := endpointSpec(id, name, 1)

	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	e, err := b.WaitEndpointReady(ctx, id, name)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != backend.StatusReady || e.Desired != 1 || e.Min != 1 || e.Max != 1 || len(e.Missing) > 0 {
		t.Errorf("endpoint after wait = %+v", e)
	}
	if e.URL != "http://"+name+"."+ns+".svc:8000/v1" || e.MetricsTarget != name+"."+ns+".svc:8000" {
		t.Errorf("URL = %s, metrics target %s", e.URL, e.MetricsTarget)
	}
	found, target, err := b.ReadEndpoint(ctx, id, name)
	if err != nil {
		t.Fatal(err)
	}
	if found.Status != backend.StatusReady || target == nil || target.APIKey != "sk-lab-key" || target.Ready != 1 ||
		target.ServedModelName != "Qwen/Qwen2.5-0.5B-Instruct" || !slices.Equal(target.URLs, []string{e.URL}) {
		t.Errorf("read: %+v, target %+v", found, target)
	}
	applied, _, err := b.EndpointSpec(ctx, id, name)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Model != spec.Node.Model.ID || applied.Revision != spec.Node.Model.Revision || applied.Image != vllm.DefaultImage ||
		applied.TensorParallelSize != 1 || applied.Replicas != 1 {
		t.Errorf("applied spec = %+v", applied)
	}

	// Replicas change in place.
	spec.Replicas = 2
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if e, err = b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	if e.Desired != 2 || e.Details.(*kubernetes.EndpointDetails).ReadyReplicas != 2 {
		t.Errorf("after scaling to 2: %+v %+v", e, e.Details)
	}

	// An engine change rolls the pods: a new ReplicaSet.
	spec.Node.Engine.MaxModelLen = 4096
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err = b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelInstance + "=" + name})
	if err != nil || len(rss.Items) < 2 {
		t.Errorf("ReplicaSets after an engine change: %d, %v; want a new one", len(rss.Items), err)
	}
	if applied, _, _ = b.EndpointSpec(ctx, id, name); applied == nil || applied.MaxModelLen != 4096 {
		t.Errorf("applied after the engine change = %+v", applied)
	}

	// Applying the same spec again changes nothing: no new generation, no roll.
	gen := func() int64 {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation
	}
	before := gen()
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if after := gen(); after != before {
		t.Errorf("re-applying the same spec moved the Deployment from generation %d to %d", before, after)
	}
	// A rotated key rolls the pods (the Secret's version on the pod template) and is served.
	spec.APIKey = "sk-lab-key-2"
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if after := gen(); after == before {
		t.Error("a rotated API key did not change the pod template")
	}
	if _, err = b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	if target, err := b.EndpointTarget(ctx, id, name); err != nil || target.APIKey != "sk-lab-key-2" {
		t.Errorf("target after rotating the key: %+v, %v", target, err)
	}

	// The cluster cannot go while the endpoint exists.
	if _, err := b.DeleteCluster(ctx, id); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("deleting the cluster under an endpoint: %v", err)
	}

	// Disappears: the Service deleted behind the provider's back is Missing, and applied again.
	if err := c.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, err = b.FindEndpoint(ctx, id, name); err != nil || len(e.Missing) != 1 || !strings.HasPrefix(e.Missing[0], "Service ") {
		t.Errorf("after deleting the Service: %+v, %v", e, err)
	}
	if e, err = b.EnsureEndpoint(ctx, spec); err != nil || len(e.Missing) > 0 {
		t.Errorf("ensure after the Service went: %+v, %v", e, err)
	}

	// Delete leaves nothing with the endpoint's labels.
	if _, err := b.DeleteEndpoint(ctx, id, name, backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteEndpoint(ctx, id, name, backend.DeleteOptions{}); err != nil {
		t.Errorf("deleting an absent endpoint: %v", err)
	}
	if _, err := b.FindEndpoint(ctx, id, name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint after delete: %v, want not found", err)
	}
	assertNothingLeft(ctx, t, c, ns, name)
}

func assertNothingLeft(ctx context.Context, t *testing.T, c k8s.Interface, ns, name string) {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: kubernetes.LabelEndpoint + "=" + name}
	count := map[string]func() (int, error){
		"Deployments": func() (int, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"Services": func() (int, error) {
			l, err := c.CoreV1().Services(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"Secrets": func() (int, error) {
			l, err := c.CoreV1().Secrets(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"Pods": func() (int, error) {
			l, err := c.CoreV1().Pods(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"PodDisruptionBudgets": func() (int, error) {
			l, err := c.PolicyV1().PodDisruptionBudgets(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"NetworkPolicies": func() (int, error) {
			l, err := c.NetworkingV1().NetworkPolicies(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
		"HorizontalPodAutoscalers": func() (int, error) {
			l, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, sel)
			return lenOr(l, err, func() int { return len(l.Items) })
		},
	}
	for kind, f := range count {
		if n, err := f(); err != nil || n > 0 {
			t.Errorf("%s of endpoint %s left: %d, %v", kind, name, n, err)
		}
	}
}

func lenOr[T any](l *T, err error, n func() int) (int, error) {
	if err != nil || l == nil {
		return 0, err
	}
	return n(), nil
}

func TestLabEndpointAutoscaling(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	id := ensureCluster(t, b, nil)
	ns, _, _ := kubernetes.ParseClusterID(id)
	ctx := labContext(t, 4*time.Minute)
	name := acctest.TestName("hpa")
	spec := endpointSpec(id, name, 1)
	spec.MinReplicas, spec.MaxReplicas = 1, 3
	spec.ScaleTarget = &backend.ScaleTarget{Metric: backend.MetricRequestsWaiting, Value: 4}
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	e, err := b.FindEndpoint(ctx, id, name)
	if err != nil {
		t.Fatal(err)
	}
	if e.Min != 1 || e.Max != 3 || e.ScaleTarget == nil || *e.ScaleTarget != *spec.ScaleTarget {
		t.Errorf("autoscaled endpoint = %+v (target %+v)", e, e.ScaleTarget)
	}
	hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || hpa.Spec.Metrics[0].Pods.Metric.Name != "vllm_num_requests_waiting" {
		t.Fatalf("HPA: %+v, %v", hpa, err)
	}
	// The HPA owns replicas: a re-apply keeps what it chose (here set through the scale
	// subresource, as the HPA controller does).
	scale, err := c.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 2
	if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, err = b.EnsureEndpoint(ctx, spec); err != nil || e.Desired != 2 {
		t.Errorf("re-apply under the HPA: desired %+v, %v; want the HPA's 2", e, err)
	}
	// The target goes: so does the HPA.
	spec.ScaleTarget = nil
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("HPA after the target went: %v", err)
	}
	if e, err = b.FindEndpoint(ctx, id, name); err != nil || e.ScaleTarget != nil || e.Min != 1 || e.Max != 3 || len(e.Missing) > 0 {
		t.Errorf("bounds only: %+v, %v", e, err)
	}
}

func TestLabEndpointUnschedulable(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	id := ensureCluster(t, b, nil)
	ctx := labContext(t, 3*time.Minute)
	name := acctest.TestName("big")
	spec := endpointSpec(id, name, 1)
	spec.Node.Engine.TensorParallelSize = 8 // no node has 8 GPUs
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e, err := b.WaitEndpointReady(ctx, id, name)
	if err == nil || !strings.Contains(err.Error(), "Insufficient nvidia.com/gpu") {
		t.Fatalf("wait: %v, want the scheduler's Insufficient nvidia.com/gpu", err)
	}
	if time.Since(start) > time.Minute {
		t.Errorf("the wait took %s to fail", time.Since(start))
	}
	if e == nil || e.Status != backend.StatusUnavailable {
		t.Errorf("endpoint with the error = %+v", e)
	}
}

func TestLabEndpointDisappears(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	id := ensureCluster(t, b, nil)
	ns, _, _ := kubernetes.ParseClusterID(id)
	ctx := labContext(t, 3*time.Minute)
	name := acctest.TestName("gone")
	if _, err := b.EnsureEndpoint(ctx, endpointSpec(id, name, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindEndpoint(ctx, id, name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint without its Deployment: %v, want not found", err)
	}
	if _, err := b.DeleteEndpoint(ctx, id, name, backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(ctx, t, c, ns, name)
}

func TestLabEndpointNameTaken(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	id := ensureCluster(t, b, nil)
	ns, _, _ := kubernetes.ParseClusterID(id)
	ctx := labContext(t, 2*time.Minute)
	name := acctest.TestName("taken")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := b.EnsureEndpoint(ctx, endpointSpec(id, name, 1))
	var p *backend.InputError
	if !errors.As(err, &p) || p.Attribute != "name" {
		t.Fatalf("ensure over another's Service: %v, want an input error on name", err)
	}
	if _, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment was made: %v", err)
	}
	// Delete never touches what is not ours.
	if _, err := b.DeleteEndpoint(ctx, id, name, backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Errorf("another's Service deleted: %v", err)
	}
}

func TestLabKubeconfig(t *testing.T) {
	t.Parallel()
	lab := acctest.Kubernetes(t)
	ctx := labContext(t, time.Minute)
	b := kubernetes.New(kubernetes.Config{ConfigPaths: []string{lab.KubeconfigPath}, ConfigContext: "kubelab"})
	var wg sync.WaitGroup
	for range 4 { // the client is built once, however many ask at once
		wg.Go(func() {
			if _, err := b.ClusterCapacity(ctx, "kubernetes/default/none"); !backend.IsNotFound(err) {
				t.Errorf("capacity of a cluster that does not exist: %v, want not found", err)
			}
		})
	}
	wg.Wait()
	bad := kubernetes.New(kubernetes.Config{ConfigPaths: []string{lab.KubeconfigPath}, ConfigContext: "nope"})
	if _, err := bad.FindCluster(ctx, "kubernetes/default/none"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown context: %v", err)
	}
}
