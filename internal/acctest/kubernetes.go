package acctest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/kubelab"
)

// The shared control plane's GPU nodes (kwok): tests place replicas on them by product label.
const (
	KubeNodeL40S = "gpu-l40s-1" // NVIDIA-L40S, 2 GPUs of 46068 MiB
	KubeNodeA100 = "gpu-a100-1" // NVIDIA-A100-SXM4-80GB, 4 GPUs of 81920 MiB
)

// SharedKubeNodes are the GPU nodes Kubernetes adds to the control plane it starts.
var SharedKubeNodes = []kubelab.NodeSpec{
	{Name: KubeNodeL40S, GPUProduct: "NVIDIA-L40S", GPUs: 2, GPUMemoryMiB: 46068},
	{Name: KubeNodeA100, GPUProduct: "NVIDIA-A100-SXM4-80GB", GPUs: 4, GPUMemoryMiB: 81920},
}

var (
	kubeOnce sync.Once
	kubeLab  *kubelab.Lab
	kubeErr  error
)

// Kubernetes returns the package's shared control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok) with the SharedKubeNodes, starting it on first
// use; the test fails (never skips) when it cannot start.
func Kubernetes(t testing.TB) *kubelab.Lab {
	t.Helper()
	kubeOnce.Do(func() {
		binDir, err := kubelab.DefaultBinDir()
		if err != nil {
			kubeErr = err
			return
		}
		dir, err := os.MkdirTemp("", "inferstack-kubelab-")
		if err != nil {
			kubeErr = err
			return
		}
		kubeLab, kubeErr = StartKubernetes(dir, binDir)
		if kubeErr != nil {
			_ = os.RemoveAll(dir)
			return
		}
		lab := kubeLab
		atExit(func() { lab.Stop(); _ = os.RemoveAll(dir) })
	})
	if kubeErr != nil {
		t.Fatalf("the Kubernetes control plane is not available: %v", kubeErr)
	}
	return kubeLab
}

// StartKubernetes starts a control plane in dir from the binaries in binDir and adds the
// SharedKubeNodes; the caller stops it.
func StartKubernetes(dir, binDir string) (*kubelab.Lab, error) {
	lab, err := kubelab.Start(dir, binDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range SharedKubeNodes {
		if _, err := lab.AddGPUNode(ctx, n); err != nil {
			lab.Stop()
			return nil, err
		}
	}
	return lab, nil
}
