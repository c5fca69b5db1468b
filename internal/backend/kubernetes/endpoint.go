package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// part is one object of an endpoint: how to read its labels and delete it.
type part struct {
	kind, name string
	labels     func(ctx context.Context) (map[string]string, error)
	delete     func(ctx context.Context) error
}

func metaLabels(o metav1.Object, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	return o.GetLabels(), nil
}

// parts are an endpoint's objects, in the order they are deleted (the Deployment, which holds
// the Secret's reference, before the Secret).
func parts(c k8s.Interface, ns, name string) []part {
	get := metav1.GetOptions{}
	del := metav1.DeleteOptions{}
	bg := metav1.DeletePropagationBackground
	return []part{
		{"HorizontalPodAutoscaler", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, get))
			},
			func(ctx context.Context) error {
				return c.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, name, del)
			}},
		{"NetworkPolicy", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.NetworkingV1().NetworkPolicies(ns).Get(ctx, name, get))
			},
			func(ctx context.Context) error { return c.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, del) }},
		{"PodDisruptionBudget", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, get))
			},
			func(ctx context.Context) error { return c.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, name, del) }},
		{"Service", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.CoreV1().Services(ns).Get(ctx, name, get))
			},
			func(ctx context.Context) error { return c.CoreV1().Services(ns).Delete(ctx, name, del) }},
		{"Deployment", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.AppsV1().Deployments(ns).Get(ctx, name, get))
			},
			func(ctx context.Context) error {
				return c.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
			}},
		{"Secret", SecretName(name),
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.CoreV1().Secrets(ns).Get(ctx, SecretName(name), get))
			},
			func(ctx context.Context) error { return c.CoreV1().Secrets(ns).Delete(ctx, SecretName(name), del) }},
	}
}

// ours reports whether an object's labels say it belongs to cluster's endpoint.
func ours(l map[string]string, cluster, endpoint string) bool {
	return l[LabelManagedBy] == ManagedByValue && l[LabelCluster] == cluster && l[LabelEndpoint] == endpoint
}

// endpointTarget is where an endpoint lives.
type endpointTarget struct {
	clusterID, ns, cluster, name string
}

func targetOf(clusterID, name string) (endpointTarget, error) {
	ns, cluster, err := ParseClusterID(clusterID)
	if err != nil {
		return endpointTarget{}, err
	}
	return endpointTarget{clusterID: clusterID, ns: ns, cluster: cluster, name: name}, nil
}

// EnsureEndpoint applies the endpoint's Secret, Deployment, Service, PodDisruptionBudget,
// NetworkPolicy and (autoscaling on a serving signal) HorizontalPodAutoscaler. It refuses an
// existing object of the endpoint's names that is not this cluster's endpoint's. It does not wait.
func (b *Backend) EnsureEndpoint(ctx context.Context, spec backend.EndpointSpec) (*backend.Endpoint, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	t, err := targetOf(spec.ClusterID, spec.Name)
	if err != nil {
		return nil, err
	}
	set, err := endpointSettingsOf(spec)
	if err != nil {
		return nil, err
	}
	if problems := validateEndpointSettings(set); len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	cl, err := readCluster(ctx, c, spec.ClusterID)
	if err != nil {
		if backend.IsNotFound(err) {
			return nil, fmt.Errorf("inference cluster %s does not exist (its ConfigMap is gone): apply the cluster first: %w", spec.ClusterID, err)
		}
		return nil, err
	}
	// Rendering checks the spec before anything is read or written; the Secret goes first, as
	// its resourceVersion goes on the pod template.
	in := endpointInput{Cluster: cl, Spec: spec, Settings: set}
	objs, err := renderEndpoint(in)
	if err != nil {
		return nil, err
	}
	for _, p := range parts(c, t.ns, t.name) {
		l, err := p.labels(ctx)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading %s %s/%s: %w", p.kind, t.ns, p.name, err)
		case !ours(l, t.cluster, t.name):
			return nil, &backend.InputError{Attribute: "name", Summary: "name taken",
				Detail: fmt.Sprintf("%s %s/%s exists and is not labelled as model endpoint %s of inference cluster %s (%s=%s, %s=%s): "+
					"the provider does not take over objects it did not make. Choose another name, or delete that %s.",
					p.kind, t.ns, p.name, t.name, t.cluster, LabelCluster, t.cluster, LabelEndpoint, t.name, p.kind)}
		}
	}
	apply := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	what := func(kind, name string) string {
		return fmt.Sprintf("applying %s %s/%s of model endpoint %s", kind, t.ns, name, t.name)
	}
	sec, err := c.CoreV1().Secrets(t.ns).Apply(ctx, objs.Secret, apply)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what("Secret", SecretName(t.name)), err)
	}
	in.SecretVersion = sec.ResourceVersion
	replicas := int32(spec.Replicas)
	in.Replicas = &replicas
	if spec.ScaleTarget != nil {
		// The HorizontalPodAutoscaler owns replicas: keep what it set, so the apply never fights it.
		d, err := c.AppsV1().Deployments(t.ns).Get(ctx, t.name, metav1.GetOptions{})
		switch {
		case err == nil && d.Spec.Replicas != nil:
			replicas = *d.Spec.Replicas
		case err == nil || apierrors.IsNotFound(err):
			replicas = int32(min(max(spec.Replicas, spec.MinReplicas, 1), max(spec.MaxReplicas, spec.MinReplicas, 1)))
		default:
			return nil, fmt.Errorf("reading Deployment %s/%s: %w", t.ns, t.name, err)
		}
	}
	if objs, err = renderEndpoint(in); err != nil {
		return nil, err
	}
	if _, err := c.AppsV1().Deployments(t.ns).Apply(ctx, objs.Deployment, apply); err != nil {
		return nil, fmt.Errorf("%s: %w", what("Deployment", t.name), err)
	}
	if _, err := c.CoreV1().Services(t.ns).Apply(ctx, objs.Service, apply); err != nil {
		return nil, fmt.Errorf("%s: %w", what("Service", t.name), err)
	}
	if _, err := c.PolicyV1().PodDisruptionBudgets(t.ns).Apply(ctx, objs.PDB, apply); err != nil {
		return nil, fmt.Errorf("%s: %w", what("PodDisruptionBudget", t.name), err)
	}
	if _, err := c.NetworkingV1().NetworkPolicies(t.ns).Apply(ctx, objs.NetworkPolicy, apply); err != nil {
		return nil, fmt.Errorf("%s: %w", what("NetworkPolicy", t.name), err)
	}
	hpas := c.AutoscalingV2().HorizontalPodAutoscalers(t.ns)
	if objs.HPA != nil {
		if _, err := hpas.Apply(ctx, objs.HPA, apply); err != nil {
			return nil, fmt.Errorf("%s: %w", what("HorizontalPodAutoscaler", t.name), err)
		}
	} else if err := hpas.Delete(ctx, t.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deleting HorizontalPodAutoscaler %s/%s of model endpoint %s: %w", t.ns, t.name, t.name, err)
	}
	f, err := b.read(ctx, c, t)
	if err != nil {
		return nil, err
	}
	return f.endpoint(), nil
}

// found is one read of an endpoint.
type found struct {
	t        endpointTarget
	dep      *appsv1.Deployment
	hpa      *autoscalingv2.HorizontalPodAutoscaler
	secret   *corev1.Secret
	service  *corev1.Service
	settings appliedSettings
	engine   *appliedEngine // nil: the pod template has no spec annotation
	missing  []string
}

// read reads an endpoint's objects; ErrNotFound when its Deployment is gone (or is not ours).
func (b *Backend) read(ctx context.Context, c k8s.Interface, t endpointTarget) (*found, error) {
	dep, err := c.AppsV1().Deployments(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && !ours(dep.Labels, t.cluster, t.name)) {
		return nil, fmt.Errorf("model endpoint %s of inference cluster %s: Deployment %s/%s: %w", t.name, t.clusterID, t.ns, t.name, backend.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Deployment %s/%s of model endpoint %s: %w", t.ns, t.name, t.name, err)
	}
	f := &found{t: t, dep: dep}
	if s := dep.Annotations[AnnotationSettings]; s != "" {
		if err := json.Unmarshal([]byte(s), &f.settings); err != nil {
			return nil, fmt.Errorf("reading model endpoint %s: annotation %s of Deployment %s/%s: %w", t.name, AnnotationSettings, t.ns, t.name, err)
		}
	}
	if s := dep.Spec.Template.Annotations[AnnotationSpec]; s != "" {
		var e appliedEngine
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return nil, fmt.Errorf("reading model endpoint %s: annotation %s of Deployment %s/%s: %w", t.name, AnnotationSpec, t.ns, t.name, err)
		}
		f.engine = &e
	}
	missing := func(kind, name string, err error) error {
		switch {
		case apierrors.IsNotFound(err):
			f.missing = append(f.missing, kind+" "+t.ns+"/"+name)
			return nil
		case err != nil:
			return fmt.Errorf("reading %s %s/%s of model endpoint %s: %w", kind, t.ns, name, t.name, err)
		}
		return nil
	}
	var errs []error
	svc, err := c.CoreV1().Services(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	if errs = append(errs, missing("Service", t.name, err)); err == nil {
		f.service = svc
	}
	sec, err := c.CoreV1().Secrets(t.ns).Get(ctx, SecretName(t.name), metav1.GetOptions{})
	if errs = append(errs, missing("Secret", SecretName(t.name), err)); err == nil {
		f.secret = sec
	}
	_, err = c.PolicyV1().PodDisruptionBudgets(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	errs = append(errs, missing("PodDisruptionBudget", t.name, err))
	_, err = c.NetworkingV1().NetworkPolicies(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	errs = append(errs, missing("NetworkPolicy", t.name, err))
	hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	switch {
	case err == nil && ours(hpa.Labels, t.cluster, t.name):
		f.hpa = hpa
	case err == nil || apierrors.IsNotFound(err):
		if f.settings.ScaleTarget != nil {
			errs = append(errs, missing("HorizontalPodAutoscaler", t.name, apierrors.NewNotFound(autoscalingv2.Resource("horizontalpodautoscalers"), t.name)))
		}
	default:
		errs = append(errs, missing("HorizontalPodAutoscaler", t.name, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// desired is the Deployment's replicas (the HorizontalPodAutoscaler's choice when it has one).
func (f *found) desired() int64 {
	if f.dep.Spec.Replicas == nil {
		return 1
	}
	return int64(*f.dep.Spec.Replicas)
}

// rolledOut reports whether every desired replica runs the Deployment's current template and is ready.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want &&
		s.AvailableReplicas == want && s.Replicas == want
}

func (f *found) endpoint() *backend.Endpoint {
	t := f.t
	port := f.settings.Settings.Port
	if f.service != nil && len(f.service.Spec.Ports) > 0 {
		port = int64(f.service.Spec.Ports[0].Port)
	}
	if port == 0 {
		port = ContainerPort
	}
	out := &backend.Endpoint{
		ID: backend.EndpointID(t.clusterID, t.name), ClusterID: t.clusterID, Name: t.name,
		URL:           ServiceURL(t.ns, t.name, port),
		MetricsTarget: ServiceHost(t.ns, t.name) + ":" + strconv.FormatInt(port, 10),
		Desired:       f.desired(), Missing: f.missing,
		Details: &EndpointDetails{
			Namespace: t.ns, Deployment: t.name, Service: t.name, ServiceHost: ServiceHost(t.ns, t.name), Port: port,
			ReadyReplicas: int64(f.dep.Status.ReadyReplicas), UpdatedReplicas: int64(f.dep.Status.UpdatedReplicas),
			Settings: f.settings.Settings,
		},
	}
	out.Min, out.Max = out.Desired, out.Desired
	if f.settings.MinReplicas > 0 || f.settings.MaxReplicas > 0 {
		out.Min, out.Max = f.settings.MinReplicas, f.settings.MaxReplicas
	}
	if h := f.hpa; h != nil {
		out.Min, out.Max = 1, int64(h.Spec.MaxReplicas)
		if h.Spec.MinReplicas != nil {
			out.Min = int64(*h.Spec.MinReplicas)
		}
		for _, m := range h.Spec.Metrics {
			if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods == nil || m.Pods.Target.AverageValue == nil {
				continue
			}
			if name := servingMetricOf(m.Pods.Metric.Name); name != "" {
				out.ScaleTarget = &backend.ScaleTarget{Metric: name, Value: m.Pods.Target.AverageValue.AsApproximateFloat64()}
				break
			}
		}
	}
	ready := int64(f.dep.Status.ReadyReplicas)
	switch {
	case rolledOut(f.dep) && out.Desired > 0:
		out.Status = backend.StatusReady
	case ready > 0:
		out.Status = backend.StatusDegraded
	default:
		out.Status = backend.StatusUnavailable
	}
	return out
}

func (b *Backend) FindEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, error) {
	e, _, err := b.ReadEndpoint(ctx, clusterID, name)
	return e, err
}

// ReadEndpoint implements backend.EndpointReader: the endpoint's read includes its Secret, so
// the target (Service URL, served name, API key) comes with it. The target is nil when the
// Secret or the applied spec is missing.
func (b *Backend) ReadEndpoint(ctx context.Context, clusterID, name string) (*backend.Endpoint, *backend.Target, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, nil, err
	}
	t, err := targetOf(clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	f, err := b.read(ctx, c, t)
	if err != nil {
		return nil, nil, err
	}
	e := f.endpoint()
	return e, f.target(e), nil
}

func (f *found) target(e *backend.Endpoint) *backend.Target {
	if f.secret == nil || f.engine == nil || len(f.secret.Data[SecretKeyAPIKey]) == 0 {
		return nil
	}
	t := &backend.Target{URLs: []string{e.URL}, ServedModelName: f.engine.ServedModelName, APIKey: string(f.secret.Data[SecretKeyAPIKey])}
	if f.dep.Status.ReadyReplicas > 0 {
		t.Ready = 1
	}
	return t
}

func (b *Backend) EndpointTarget(ctx context.Context, clusterID, name string) (*backend.Target, error) {
	_, t, err := b.ReadEndpoint(ctx, clusterID, name)
	if err != nil {
		if backend.IsNotFound(err) {
			return nil, fmt.Errorf("model endpoint %s does not exist in cluster %s: %w", name, clusterID, err)
		}
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("model endpoint %s of cluster %s has no Secret %s (or no applied spec) to read its key and served model name from: "+
			"apply it again: %w", name, clusterID, SecretName(name), backend.ErrNotFound)
	}
	return t, nil
}

// EndpointSpec reads the settings back from the pod template's spec annotation.
func (b *Backend) EndpointSpec(ctx context.Context, clusterID, name string) (*vllm.AppliedSpec, *backend.Endpoint, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, nil, err
	}
	t, err := targetOf(clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	f, err := b.read(ctx, c, t)
	if err != nil {
		return nil, nil, err
	}
	if f.engine == nil {
		return nil, nil, fmt.Errorf("model endpoint %s: Deployment %s/%s has no %s annotation on its pod template: it was not made by this provider, or was edited",
			name, t.ns, name, AnnotationSpec)
	}
	e := f.endpoint()
	applied := f.engine.AppliedSpec
	applied.Replicas = int(e.Desired)
	return &applied, e, nil
}

// DeleteEndpoint deletes the endpoint's objects that are labelled as its own and waits until
// they and its pods are gone.
func (b *Backend) DeleteEndpoint(ctx context.Context, clusterID, name string, _ backend.DeleteOptions) ([]string, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	t, err := targetOf(clusterID, name)
	if err != nil {
		return nil, err
	}
	ps := parts(c, t.ns, t.name)
	for _, p := range ps {
		l, err := p.labels(ctx)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading %s %s/%s of model endpoint %s: %w", p.kind, t.ns, p.name, name, err)
		case !ours(l, t.cluster, t.name):
			continue // not ours: never deleted
		}
		if err := p.delete(ctx); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("deleting %s %s/%s of model endpoint %s: %w", p.kind, t.ns, p.name, name, err)
		}
	}
	podSel := labels.SelectorFromSet(selectorLabels(t.cluster, t.name)).String()
	err = wait.Until(ctx, pollInterval, "model endpoint "+name+" to be deleted", func(ctx context.Context) (bool, error, error) {
		var left []string
		for _, p := range ps {
			l, err := p.labels(ctx)
			if err == nil && ours(l, t.cluster, t.name) {
				left = append(left, p.kind+" "+p.name)
			} else if err != nil && !apierrors.IsNotFound(err) {
				return false, nil, fmt.Errorf("reading %s %s/%s: %w", p.kind, t.ns, p.name, err)
			}
		}
		pods, err := c.CoreV1().Pods(t.ns).List(ctx, metav1.ListOptions{LabelSelector: podSel})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, nil, fmt.Errorf("listing the pods of model endpoint %s: %w", name, err)
		}
		if err == nil && len(pods.Items) > 0 {
			left = append(left, fmt.Sprintf("%d pod(s)", len(pods.Items)))
		}
		if len(left) > 0 {
			return false, fmt.Errorf("still there: %s", strings.Join(left, ", ")), nil
		}
		return true, nil, nil
	})
	return nil, err
}
