package kubernetes

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPodPhases(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	pods := []corev1.Pod{
		{Status: corev1.PodStatus{Phase: corev1.PodPending}},
		{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
			{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}},
		{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
		{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}},
		{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
	}
	want := "ContainerCreating 1, Pending 1, Running 1, Running (not ready) 1, Terminating 1"
	if got := podPhases(pods); got != want {
		t.Errorf("podPhases = %q, want %q", got, want)
	}
}

func TestUnschedulableMessage(t *testing.T) {
	t.Parallel()
	msg := "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
	p := corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}}}}
	if got := unschedulableMessage(p); got != msg {
		t.Errorf("unschedulableMessage = %q", got)
	}
	if got := unschedulableMessage(corev1.Pod{}); got != "" {
		t.Errorf("a scheduled pod: %q", got)
	}
}

func TestCrashing(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset()
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "llama-abc", Namespace: "ml"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: ContainerName, RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
	}}}}
	err := crashing(t.Context(), c, p)
	if err == nil || !strings.Contains(err.Error(), "exited with code 1 (Error)") || !strings.Contains(err.Error(), "restarted 4 times") ||
		!strings.Contains(err.Error(), "fake logs") {
		t.Errorf("crashing = %v", err)
	}
	p.Status.ContainerStatuses[0].RestartCount = 1
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	if err := crashing(t.Context(), c, p); err != nil {
		t.Errorf("a running container: %v", err)
	}
}

func TestCrashingInvalidImage(t *testing.T) {
	t.Parallel()
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "llama-abc", Namespace: "ml"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name:  ContainerName,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "InvalidImageName", Message: `couldn't parse image name "vllm/VLLM"`}},
	}}}}
	if err := crashing(t.Context(), fake.NewClientset(), p); err == nil || !strings.Contains(err.Error(), "InvalidImageName") {
		t.Errorf("crashing = %v", err)
	}
}

// TestWaitImagePullBackOff: a container that cannot pull its image past the grace fails the
// wait with the image and the kubelet's message.
func TestWaitImagePullBackOff(t *testing.T) {
	t.Parallel()
	ns, name := "ml", "llama"
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: endpointLabels("gpu", name)},
		Spec:       appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: selectorLabels("gpu", name)}},
	}
	image := "vllm/vllm-openai:v0.99.0"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-abc", Namespace: ns, UID: "p1", Labels: selectorLabels("gpu", name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, Image: image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
				Message: `Back-off pulling image "` + image + `": not found`}},
		}}},
	}
	b := NewWithClient(fake.NewClientset(dep, pod))
	b.pullGrace = time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := b.WaitEndpointReady(ctx, ClusterID(ns, "gpu"), name)
	if err == nil || !strings.Contains(err.Error(), "cannot pull image "+image) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("wait = %v, want the image and the kubelet's message", err)
	}
}
