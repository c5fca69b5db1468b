package kubelab

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The labels GPU feature discovery puts on NVIDIA nodes, and the extended resource the device
// plugin advertises.
const (
	LabelGPUProduct = "nvidia.com/gpu.product"
	LabelGPUMemory  = "nvidia.com/gpu.memory" // MiB per GPU
	LabelGPUCount   = "nvidia.com/gpu.count"
	ResourceGPU     = corev1.ResourceName("nvidia.com/gpu")
)

// notReadyTaint is the taint a new node gets until the node lifecycle controller sees it Ready.
const notReadyTaint = "node.kubernetes.io/not-ready"

// waitTimeout bounds the lab's waits when ctx has no deadline.
const waitTimeout = 2 * time.Minute

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, waitTimeout)
}

// NodeSpec describes a fake GPU node.
type NodeSpec struct {
	Name         string
	GPUProduct   string // nvidia.com/gpu.product, e.g. NVIDIA-L40S
	GPUs         int    // allocatable nvidia.com/gpu
	GPUMemoryMiB int64  // nvidia.com/gpu.memory; the label is left off when 0
	Labels       map[string]string
	Taints       []corev1.Taint
}

// AddGPUNode creates a kwok-managed Node with spec's GPUs (and 32 CPUs, 256Gi, 110 pods) and
// waits until it is Ready and no longer tainted not-ready.
func (l *Lab) AddGPUNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	labels := map[string]string{
		"type":                   "kwok",
		"kubernetes.io/hostname": spec.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		LabelGPUCount:            strconv.Itoa(spec.GPUs),
	}
	if spec.GPUProduct != "" {
		labels[LabelGPUProduct] = spec.GPUProduct
	}
	if spec.GPUMemoryMiB != 0 {
		labels[LabelGPUMemory] = strconv.FormatInt(spec.GPUMemoryMiB, 10)
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
		ResourceGPU:           *resource.NewQuantity(int64(spec.GPUs), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        spec.Name,
			Labels:      labels,
			Annotations: map[string]string{FakeNodeAnnotation: "fake"},
		},
		Spec: corev1.NodeSpec{Taints: spec.Taints},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    "amd64",
				OperatingSystem: "linux",
				KubeletVersion:  "fake",
			},
		},
	}
	cs := l.client
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating node %s: %w", spec.Name, err)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	var got *corev1.Node
	err := waitFor(ctx, l.procsNamed("kwok", "kube-controller-manager"), "node "+spec.Name+" to be Ready and untainted", func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, spec.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = n
		return nodeReady(n), nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}

func nodeReady(n *corev1.Node) bool {
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Key == notReadyTaint {
			return false
		}
	}
	return ready
}

// DeleteNode deletes the node and waits until it is gone.
func (l *Lab) DeleteNode(ctx context.Context, name string) error {
	cs := l.client
	err := cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting node %s: %w", name, err)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	return waitFor(ctx, nil, "node "+name+" to go", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func (l *Lab) procsNamed(names ...string) []*proc {
	var out []*proc
	for _, p := range l.procs {
		for _, n := range names {
			if p.name == n {
				out = append(out, p)
			}
		}
	}
	return out
}
