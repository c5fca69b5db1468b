package kubernetes_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/kubelab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/kubernetes"
)

// addPool adds n kwok GPU nodes of gpus GPUs each, labelled as a pool of their own, and returns
// the pool's node selector; the nodes go at the end of the test.
func addPool(t *testing.T, n, gpus int) map[string]string {
	t.Helper()
	lab := acctest.Kubernetes(t)
	pool := acctest.TestName("pool")
	ctx := labContext(t, 2*time.Minute)
	for i := range n {
		name := pool + "-" + string(rune('a'+i))
		if _, err := lab.AddGPUNode(ctx, kubelab.NodeSpec{Name: name, GPUProduct: "NVIDIA-L4", GPUs: gpus, GPUMemoryMiB: 23034,
			Labels: map[string]string{"inferstack.io/test-pool": pool}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := lab.DeleteNode(ctx, name); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	return map[string]string{"inferstack.io/test-pool": pool}
}

func statefulSets(ctx context.Context, t *testing.T, c k8s.Interface, ns, name string) []appsv1.StatefulSet {
	t.Helper()
	l, err := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelEndpoint + "=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestLabEndpointMultiNode: tensor 2 x pipeline 2 on a pool of two 2-GPU nodes is one
// StatefulSet of two pods, one per node, the Service on the leader; it scales by groups, rolls on
// an engine change, comes back after drift, switches shape both ways and leaves nothing.
func TestLabEndpointMultiNode(t *testing.T) {
	t.Parallel()
	b, c := newBackend(t)
	sel := addPool(t, 2, 2)
	id := ensureCluster(t, b, sel)
	ns, _, _ := kubernetes.ParseClusterID(id)
	ctx := labContext(t, 6*time.Minute)
	name := acctest.TestName("pp")
	spec := endpointSpec(id, name, 1)
	spec.Node.Engine.TensorParallelSize, spec.Node.Engine.PipelineParallelSize = 2, 2

	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	e, err := b.WaitEndpointReady(ctx, id, name)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Details.(*kubernetes.EndpointDetails)
	if e.Status != backend.StatusReady || e.Desired != 1 || len(e.Missing) > 0 || d.Deployment != "" ||
		!slices.Equal(d.StatefulSets, []string{name + "-0"}) || d.HeadlessService != name+"-headless" || d.ReadyReplicas != 1 {
		t.Errorf("endpoint after wait = %+v %+v", e, d)
	}
	if e.URL != "http://"+name+"."+ns+".svc:8000/v1" {
		t.Errorf("URL = %s", e.URL)
	}
	if _, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment for a multi-node endpoint: %v", err)
	}
	sts, err := c.AppsV1().StatefulSets(ns).Get(ctx, name+"-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 2 || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement || sts.Spec.ServiceName != name+"-headless" ||
		sts.Status.ReadyReplicas != 2 {
		t.Errorf("StatefulSet = %+v, status %+v", sts.Spec, sts.Status)
	}
	args := strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--pipeline-parallel-size 2 ") ||
		!strings.HasSuffix(args, "--nnodes 2 --node-rank $(NODE_RANK) --master-addr "+name+"-0-0."+name+"-headless."+ns+".svc") {
		t.Errorf("args = %s", args)
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelEndpoint + "=" + name})
	if err != nil {
		t.Fatal(err)
	}
	nodes, ranks := map[string]bool{}, map[string]bool{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName] = true
		ranks[p.Labels[appsv1.PodIndexLabel]] = true
		if q := p.Spec.Containers[0].Resources.Limits[kubernetes.ResourceGPU]; q.Value() != 2 {
			t.Errorf("pod %s asks %s GPUs, want 2", p.Name, q.String())
		}
	}
	if len(pods.Items) != 2 || len(nodes) != 2 || !ranks["0"] || !ranks["1"] {
		t.Errorf("pods: %d on nodes %v with ranks %v; want two, on two nodes, ranks 0 and 1", len(pods.Items), nodes, ranks)
	}
	svc, err := c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || svc.Spec.Selector[appsv1.PodIndexLabel] != "0" {
		t.Errorf("Service selector: %v, %v; want the leaders only", svc.Spec.Selector, err)
	}
	hs, err := c.CoreV1().Services(ns).Get(ctx, name+"-headless", metav1.GetOptions{})
	if err != nil || hs.Spec.ClusterIP != "None" || !hs.Spec.PublishNotReadyAddresses {
		t.Errorf("headless Service: %+v, %v", hs.Spec, err)
	}
	applied, _, err := b.EndpointSpec(ctx, id, name)
	if err != nil || applied.PipelineParallelSize != 2 || applied.TensorParallelSize != 2 || applied.Replicas != 1 {
		t.Errorf("applied spec = %+v, %v", applied, err)
	}
	if target, err := b.EndpointTarget(ctx, id, name); err != nil || target.Ready != 1 || target.APIKey != "sk-lab-key" {
		t.Errorf("target = %+v, %v", target, err)
	}

	// A second replica is a second group (no room for it here: its pods stay Pending), drift of
	// it is Missing and applied back, and scaling down removes it.
	spec.Replicas = 2
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if n := len(statefulSets(ctx, t, c, ns, name)); n != 2 {
		t.Errorf("%d StatefulSets for 2 replicas", n)
	}
	if e, err = b.FindEndpoint(ctx, id, name); err != nil || e.Status != backend.StatusDegraded || e.Desired != 2 {
		t.Errorf("one group of two placed: %+v, %v", e, err)
	}
	if err := c.AppsV1().StatefulSets(ns).Delete(ctx, name+"-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, err = b.FindEndpoint(ctx, id, name); err != nil || !slices.Equal(e.Missing, []string{"StatefulSet " + ns + "/" + name + "-1"}) {
		t.Errorf("after deleting a group: %+v, %v", e, err)
	}
	if e, err = b.EnsureEndpoint(ctx, spec); err != nil || len(e.Missing) > 0 {
		t.Errorf("ensure after a group went: %+v, %v", e, err)
	}
	spec.Replicas = 1
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if e, err = b.WaitEndpointReady(ctx, id, name); err != nil || e.Desired != 1 {
		t.Fatalf("back to one replica: %+v, %v", e, err)
	}
	if n := len(statefulSets(ctx, t, c, ns, name)); n != 1 {
		t.Errorf("%d StatefulSets for 1 replica", n)
	}

	// An engine change rolls the group.
	gen := sts.Generation
	spec.Node.Engine.MaxModelLen = 4096
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	if sts, err = c.AppsV1().StatefulSets(ns).Get(ctx, name+"-0", metav1.GetOptions{}); err != nil || sts.Generation == gen ||
		sts.Status.CurrentRevision != sts.Status.UpdateRevision {
		t.Errorf("after an engine change: generation %d (was %d), revisions %s/%s, %v", sts.Generation, gen,
			sts.Status.CurrentRevision, sts.Status.UpdateRevision, err)
	}
	if applied, _, _ = b.EndpointSpec(ctx, id, name); applied == nil || applied.MaxModelLen != 4096 {
		t.Errorf("applied after the engine change = %+v", applied)
	}

	// The whole group deleted behind the provider's back: not found, as a Deployment would be.
	if err := c.AppsV1().StatefulSets(ns).Delete(ctx, name+"-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindEndpoint(ctx, id, name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint without its StatefulSets: %v, want not found", err)
	}
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}

	// Switching to one node: a Deployment, the groups and headless Service gone; and back.
	spec.Node.Engine.PipelineParallelSize = 1
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if e, err = b.WaitEndpointReady(ctx, id, name); err != nil || e.Details.(*kubernetes.EndpointDetails).Deployment != name {
		t.Fatalf("single-node: %+v, %v", e, err)
	}
	if n := len(statefulSets(ctx, t, c, ns, name)); n != 0 {
		t.Errorf("%d StatefulSets left after switching to one node", n)
	}
	if _, err := c.CoreV1().Services(ns).Get(ctx, name+"-headless", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("headless Service after switching to one node: %v", err)
	}
	if svc, err = c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err != nil || svc.Spec.Selector[appsv1.PodIndexLabel] != "" {
		t.Errorf("Service selector after switching to one node: %v, %v", svc.Spec.Selector, err)
	}
	spec.Node.Engine.PipelineParallelSize = 2
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if e, err = b.WaitEndpointReady(ctx, id, name); err != nil || e.Details.(*kubernetes.EndpointDetails).Deployment != "" {
		t.Fatalf("multi-node again: %+v, %v", e, err)
	}
	if _, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment after switching back to multi-node: %v", err)
	}

	// The cluster cannot go while the endpoint exists.
	if _, err := b.DeleteCluster(ctx, id); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("deleting the cluster under a multi-node endpoint: %v", err)
	}
	if _, err := b.DeleteEndpoint(ctx, id, name, backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindEndpoint(ctx, id, name); !backend.IsNotFound(err) {
		t.Errorf("FindEndpoint after delete: %v, want not found", err)
	}
	if n := len(statefulSets(ctx, t, c, ns, name)); n != 0 {
		t.Errorf("%d StatefulSets left after delete", n)
	}
	assertNothingLeft(ctx, t, c, ns, name)
}

// TestLabEndpointMultiNodeUnschedulable: two stages cannot share the one node a pool has.
func TestLabEndpointMultiNodeUnschedulable(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	sel := addPool(t, 1, 4)
	id := ensureCluster(t, b, sel)
	ctx := labContext(t, 3*time.Minute)
	name := acctest.TestName("pp1")
	spec := endpointSpec(id, name, 1)
	spec.Node.Engine.TensorParallelSize, spec.Node.Engine.PipelineParallelSize = 2, 2
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	_, err := b.WaitEndpointReady(ctx, id, name)
	if err == nil || !strings.Contains(err.Error(), "anti-affinity") || !strings.Contains(err.Error(), "pipeline_parallel_size different nodes") {
		t.Errorf("wait: %v, want the scheduler's anti-affinity words", err)
	}
}
