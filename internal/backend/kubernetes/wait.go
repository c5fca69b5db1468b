package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// Fail-fast bounds of WaitEndpointReady.
var (
	// unschedulableGrace is how long a pod may stay unschedulable before the wait fails with the
	// scheduler's message (a moment, for a node that is just joining or a pod being preempted).
	unschedulableGrace = 10 * time.Second
	// imagePullGrace is how long a container may stay in ImagePullBackOff / ErrImagePull before
	// the wait fails with the kubelet's message (registries and networks hiccup).
	imagePullGrace = 60 * time.Second
	// maxRestarts is the restart count at which a crashing container fails the wait.
	maxRestarts int32 = 3
	// logTailLines is how much of a failed container's log the error carries.
	logTailLines int64 = 20
)

// WaitEndpointReady waits until the Deployment's current template runs every desired replica
// ready; it fails at once, with the scheduler's or the container's own words, on a pod that
// cannot be scheduled or a container that keeps crashing. It reports "k/n ready, pods: ..."
// as that changes.
func (b *Backend) WaitEndpointReady(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	t, err := targetOf(clusterID, name)
	if err != nil {
		return nil, err
	}
	unschedulable := map[types.UID]time.Time{}
	pulls := pullFailures{}
	lastReport := ""
	var last *found
	err = wait.Until(ctx, pollInterval, "model endpoint "+name+" to be ready", func(ctx context.Context) (bool, error, error) {
		f, err := b.read(ctx, c, t)
		if err != nil {
			return false, nil, err
		}
		last = f
		d := f.dep
		var pods []corev1.Pod
		source := "Deployment " + t.ns + "/" + name
		if d != nil {
			pods, err = currentPods(ctx, c, d)
		} else {
			source = "StatefulSets " + t.ns + "/" + GroupName(name, 0) + "…"
			pods, err = endpointPods(ctx, c, t)
		}
		if err != nil {
			return false, nil, err
		}
		want := f.desired()
		ready, updated := f.replicaCounts()
		msg := fmt.Sprintf("%d/%d ready", ready, want)
		if s := podPhases(pods); s != "" {
			msg += ", pods: " + s
		}
		if msg != lastReport {
			backend.Report(ctx, source, msg)
			lastReport = msg
		}
		for _, p := range pods {
			if reason := unschedulableMessage(p); reason != "" {
				first, seen := unschedulable[p.UID]
				if !seen {
					unschedulable[p.UID] = time.Now()
				} else if time.Since(first) >= unschedulableGrace {
					if d == nil {
						return false, nil, fmt.Errorf("model endpoint %s: pod %s cannot be scheduled: %s. Each replica needs "+
							"pipeline_parallel_size different nodes with tensor_parallel_size free GPUs each: free or add GPU nodes matching the "+
							"cluster's node selector and tolerations, or lower tensor_parallel_size or pipeline_parallel_size", name, p.Name, reason)
					}
					return false, nil, fmt.Errorf("model endpoint %s: pod %s cannot be scheduled: %s. Free or add GPU nodes matching the "+
						"cluster's node selector and tolerations, or ask for fewer GPUs per replica (tensor_parallel_size x pipeline_parallel_size)",
						name, p.Name, reason)
				}
			} else {
				delete(unschedulable, p.UID)
			}
			if err := crashing(ctx, c, p); err != nil {
				return false, nil, fmt.Errorf("model endpoint %s: %w", name, err)
			}
			if err := pulls.check(p, time.Now(), cmp.Or(b.pullGrace, imagePullGrace)); err != nil {
				return false, nil, fmt.Errorf("model endpoint %s: %w", name, err)
			}
		}
		if f.rolledOutAll() {
			return true, nil, nil
		}
		if d == nil {
			return false, fmt.Errorf("%s (replica groups updated %d of %d)", msg, updated, want), nil
		}
		return false, fmt.Errorf("%s (updated %d, available %d, generation %d observed %d)", msg, d.Status.UpdatedReplicas,
			d.Status.AvailableReplicas, d.Generation, d.Status.ObservedGeneration), nil
	})
	if last == nil {
		return nil, err
	}
	e := last.endpoint()
	if err == nil {
		e.Status = backend.StatusReady
	}
	return e, err
}

// endpointPods lists the pods of every replica group of a multi-node endpoint.
func endpointPods(ctx context.Context, c k8s.Interface, t endpointTarget) ([]corev1.Pod, error) {
	sel := labels.SelectorFromSet(selectorLabels(t.cluster, t.name)).String() + "," + LabelGroup
	pods, err := c.CoreV1().Pods(t.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of model endpoint %s: %w", t.name, err)
	}
	return pods.Items, nil
}

// currentPods lists the pods of the Deployment's newest ReplicaSet (all of its pods when that
// cannot be told), so an old replica going away does not fail a rollout.
func currentPods(ctx context.Context, c k8s.Interface, d *appsv1.Deployment) ([]corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("the selector of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	pods, err := c.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	rss, err := c.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the ReplicaSets of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	rev := d.Annotations["deployment.kubernetes.io/revision"]
	hash := ""
	for _, rs := range rss.Items {
		if metav1.IsControlledBy(&rs, d) && rev != "" && rs.Annotations["deployment.kubernetes.io/revision"] == rev {
			hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		}
	}
	if hash == "" {
		return pods.Items, nil
	}
	cur := labels.SelectorFromSet(labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
	var out []corev1.Pod
	for _, p := range pods.Items {
		if cur.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// podPhases counts pods by what they are doing: a container's waiting reason
// (ContainerCreating, CrashLoopBackOff), Terminating, or the pod's phase.
func podPhases(pods []corev1.Pod) string {
	counts := map[string]int{}
	for _, p := range pods {
		counts[podState(p)]++
	}
	var out []string
	for _, k := range sortedKeys(counts) {
		out = append(out, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(out, ", ")
}

func podState(p corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Waiting != nil && s.State.Waiting.Reason != "" {
			return s.State.Waiting.Reason
		}
	}
	if p.Status.Phase == corev1.PodRunning {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionTrue {
				return "Running (not ready)"
			}
		}
	}
	if p.Status.Phase == "" {
		return string(corev1.PodPending)
	}
	return string(p.Status.Phase)
}

// unschedulableMessage is the scheduler's message for a pod it cannot place ("" when it can).
func unschedulableMessage(p corev1.Pod) string {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			if cond.Message == "" {
				return "unschedulable"
			}
			return cond.Message
		}
	}
	return ""
}

// permanentWaits are container waiting reasons no retry cures: the spec must change.
var permanentWaits = map[string]bool{"InvalidImageName": true, "ErrImageNeverPull": true}

// crashing returns an error describing the vLLM container of p when it is in CrashLoopBackOff
// or restarted maxRestarts times (its last exit and the tail of its log), or cannot start at all.
func crashing(ctx context.Context, c k8s.Interface, p corev1.Pod) error {
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && permanentWaits[w.Reason] {
			return fmt.Errorf("container %s of pod %s cannot start: %s: %s", s.Name, p.Name, w.Reason, w.Message)
		}
		looping := s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff"
		if !looping && s.RestartCount < maxRestarts {
			continue
		}
		msg := fmt.Sprintf("container %s of pod %s keeps failing (restarted %d times)", s.Name, p.Name, s.RestartCount)
		if term := s.LastTerminationState.Terminated; term != nil {
			msg += fmt.Sprintf("; it last exited with code %d", term.ExitCode)
			if term.Reason != "" {
				msg += " (" + term.Reason + ")"
			}
			if m := strings.TrimSpace(term.Message); m != "" {
				msg += ": " + m
			}
		}
		tail := logTailLines
		raw, err := c.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: s.Name, Previous: true, TailLines: &tail}).DoRaw(ctx)
		if err != nil || len(raw) == 0 {
			raw, err = c.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: s.Name, TailLines: &tail}).DoRaw(ctx)
		}
		if err == nil && len(strings.TrimSpace(string(raw))) > 0 {
			msg += fmt.Sprintf("\n\nLast %d lines of its log:\n%s", logTailLines, strings.TrimRight(string(raw), "\n"))
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// pullFailures remembers since when each container has failed to pull its image.
type pullFailures map[string]time.Time

// check returns an error naming the image and the kubelet's message when a container of p has
// been unable to pull its image (ImagePullBackOff, ErrImagePull) for grace or longer; a pull
// that recovers starts the clock again.
func (f pullFailures) check(p corev1.Pod, now time.Time, grace time.Duration) error {
	for _, s := range p.Status.ContainerStatuses {
		key := string(p.UID) + "/" + p.Name + "/" + s.Name
		w := s.State.Waiting
		if w == nil || (w.Reason != "ImagePullBackOff" && w.Reason != "ErrImagePull") {
			delete(f, key)
			continue
		}
		first, seen := f[key]
		if !seen {
			f[key] = now
			continue
		}
		if now.Sub(first) >= grace {
			image := s.Image
			for _, c := range p.Spec.Containers {
				if c.Name == s.Name {
					image = c.Image
				}
			}
			msg := strings.TrimSpace(w.Message)
			if msg == "" {
				msg = "no message from the kubelet"
			}
			return fmt.Errorf("container %s of pod %s cannot pull image %s (%s for %s): %s. Check the image name and tag "+
				"(engine.image), that the nodes can reach its registry, and its pull credentials",
				s.Name, p.Name, image, w.Reason, now.Sub(first).Round(time.Second), msg)
		}
	}
	return nil
}
