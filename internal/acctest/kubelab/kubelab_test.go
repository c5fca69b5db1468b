package kubelab

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var lab *Lab

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubelab:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	binDir, err := DefaultBinDir()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "kubelab-test-")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	lab, err = Start(dir, binDir)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "kubelab: control plane ready in %s (%s)\n", time.Since(start).Round(time.Millisecond), dir)
	code := m.Run()
	lab.Stop()
	if code == 0 {
		_ = os.RemoveAll(dir)
	}
	return code, nil
}

func TestStartFailsWithoutBinaries(t *testing.T) {
	_, err := Start(t.TempDir(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not built: run `make tools`") {
		t.Fatalf("want a `make tools` hint, got %v", err)
	}
}

func TestKubeconfig(t *testing.T) {
	data, err := os.ReadFile(lab.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"current-context: kubelab", "server: " + lab.Host, "token: " + lab.Token} {
		if !strings.Contains(string(data), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, data)
		}
	}
	if !strings.HasPrefix(lab.Host, "https://127.0.0.1:") {
		t.Errorf("Host = %s", lab.Host)
	}
}

// The check: a node with two GPUs and three replicas asking one each. The real scheduler
// places two, which kwok makes Running and Ready, and leaves the third Pending for want of
// nvidia.com/gpu; deleting the Deployment removes its pods; deleting the namespace completes.
func TestSchedulerPlacesByGPU(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := lab.Client()
	const product = "TEST-GPU-SCHED"
	node, err := lab.AddGPUNode(ctx, NodeSpec{Name: "gpu-sched-1", GPUProduct: product, GPUs: 2, GPUMemoryMiB: 24576})
	if err != nil {
		t.Fatal(err)
	}
	if q := node.Status.Allocatable[ResourceGPU]; q.Value() != 2 {
		t.Fatalf("allocatable nvidia.com/gpu = %s, want 2", q.String())
	}
	if node.Labels[LabelGPUMemory] != "24576" || node.Labels[LabelGPUProduct] != product || node.Labels["type"] != "kwok" {
		t.Fatalf("node labels = %v", node.Labels)
	}
	t.Cleanup(func() { _ = lab.DeleteNode(context.Background(), node.Name) })

	const ns = "gpu-sched"
	if err := lab.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	sel := map[string]string{"app": "llm"}
	gpu := corev1.ResourceList{ResourceGPU: resource.MustParse("1")}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{LabelGPUProduct: product},
					Containers: []corev1.Container{{
						Name:      "vllm",
						Image:     "vllm/vllm-openai:v0.11.0",
						Resources: corev1.ResourceRequirements{Limits: gpu, Requests: gpu},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var last string
	err = waitFor(ctx, nil, "two pods Running and Ready and one Pending for want of GPUs", func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=llm"})
		if err != nil {
			return false, err
		}
		ready, pending := 0, 0
		var b strings.Builder
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "%s node=%q phase=%s", p.Name, p.Spec.NodeName, p.Status.Phase)
			for _, c := range p.Status.Conditions {
				fmt.Fprintf(&b, " %s=%s(%s)", c.Type, c.Status, c.Message)
				switch {
				case c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning && p.Spec.NodeName == node.Name:
					ready++
				case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "Insufficient nvidia.com/gpu"):
					pending++
				}
			}
			b.WriteString("\n")
		}
		last = b.String()
		return len(pods.Items) == 3 && ready == 2 && pending == 1, nil
	})
	if err != nil {
		t.Fatalf("%v\npods:\n%s", err, last)
	}
	t.Logf("pods:\n%s", last)

	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "llm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = waitFor(ctx, nil, "the Deployment's pods to go", func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "left"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = waitFor(ctx, nil, "namespace "+ns+" to be deleted", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeleteNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := lab.AddGPUNode(ctx, NodeSpec{Name: "gpu-gone-1", GPUProduct: "TEST-GPU-GONE", GPUs: 1,
		Taints: []corev1.Taint{{Key: "dedicated", Value: "llm", Effect: corev1.TaintEffectNoSchedule}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Labels[LabelGPUMemory]; ok {
		t.Errorf("gpu.memory label set for 0 MiB: %v", n.Labels)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("taints = %v", n.Spec.Taints)
	}
	if err := lab.DeleteNode(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
}
