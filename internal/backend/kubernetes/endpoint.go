package kubernetes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// groupParts are a multi-node endpoint's StatefulSets (all that exist with its labels) and its
// headless Service, in the order they are deleted.
func groupParts(ctx context.Context, c k8s.Interface, t endpointTarget) ([]part, error) {
	sets, err := listGroups(ctx, c, t)
	if err != nil {
		return nil, err
	}
	bg := metav1.DeletePropagationBackground
	var out []part
	for _, s := range sets {
		name := s.Name
		out = append(out, part{"StatefulSet", name,
			func(ctx context.Context) (map[string]string, error) {
				return metaLabels(c.AppsV1().StatefulSets(t.ns).Get(ctx, name, metav1.GetOptions{}))
			},
			func(ctx context.Context) error {
				return c.AppsV1().StatefulSets(t.ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
			}})
	}
	hs := HeadlessServiceName(t.name)
	out = append(out, part{"Service", hs,
		func(ctx context.Context) (map[string]string, error) {
			return metaLabels(c.CoreV1().Services(t.ns).Get(ctx, hs, metav1.GetOptions{}))
		},
		func(ctx context.Context) error {
			return c.CoreV1().Services(t.ns).Delete(ctx, hs, metav1.DeleteOptions{})
		}})
	return out, nil
}

// listGroups lists the StatefulSets labelled as the endpoint's, by replica index.
func listGroups(ctx context.Context, c k8s.Interface, t endpointTarget) ([]appsv1.StatefulSet, error) {
	sel := labels.SelectorFromSet(map[string]string{LabelManagedBy: ManagedByValue, LabelCluster: t.cluster, LabelEndpoint: t.name})
	list, err := c.AppsV1().StatefulSets(t.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the StatefulSets of model endpoint %s: %w", t.name, err)
	}
	out := list.Items
	slices.SortFunc(out, func(a, b appsv1.StatefulSet) int { return cmp.Compare(groupIndex(a), groupIndex(b)) })
	return out, nil
}

// groupIndex is a StatefulSet's replica index (-1 when its label is not a number).
func groupIndex(s appsv1.StatefulSet) int {
	i, err := strconv.Atoi(s.Labels[LabelGroup])
	if err != nil {
		return -1
	}
	return i
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
	check := parts(c, t.ns, t.name)
	for _, g := range objs.StatefulSets {
		name := *g.Name
		check = append(check, part{kind: "StatefulSet", name: name, labels: func(ctx context.Context) (map[string]string, error) {
			return metaLabels(c.AppsV1().StatefulSets(t.ns).Get(ctx, name, metav1.GetOptions{}))
		}})
	}
	if objs.Headless != nil {
		check = append(check, part{kind: "Service", name: *objs.Headless.Name, labels: func(ctx context.Context) (map[string]string, error) {
			return metaLabels(c.CoreV1().Services(t.ns).Get(ctx, *objs.Headless.Name, metav1.GetOptions{}))
		}})
	}
	for _, p := range check {
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
	if objs.Deployment != nil {
		if _, err := c.AppsV1().Deployments(t.ns).Apply(ctx, objs.Deployment, apply); err != nil {
			return nil, fmt.Errorf("%s: %w", what("Deployment", t.name), err)
		}
	} else {
		if _, err := c.CoreV1().Services(t.ns).Apply(ctx, objs.Headless, apply); err != nil {
			return nil, fmt.Errorf("%s: %w", what("Service", *objs.Headless.Name), err)
		}
		for _, g := range objs.StatefulSets {
			if _, err := c.AppsV1().StatefulSets(t.ns).Apply(ctx, g, apply); err != nil {
				return nil, fmt.Errorf("%s: %w", what("StatefulSet", *g.Name), err)
			}
		}
	}
	if err := deleteOtherShape(ctx, c, t, objs); err != nil {
		return nil, err
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

// deleteOtherShape deletes what the endpoint no longer has: the Deployment of a single-node
// endpoint that now spans nodes, or the StatefulSets (all, or those past replicas) and headless
// Service of one that no longer does. Only objects labelled as the endpoint's go.
func deleteOtherShape(ctx context.Context, c k8s.Interface, t endpointTarget, objs *endpointObjects) error {
	var gone []part
	if objs.Deployment == nil {
		for _, p := range parts(c, t.ns, t.name) {
			if p.kind == "Deployment" {
				gone = append(gone, p)
			}
		}
	}
	groups, err := groupParts(ctx, c, t)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, g := range objs.StatefulSets {
		keep["StatefulSet/"+*g.Name] = true
	}
	if objs.Headless != nil {
		keep["Service/"+*objs.Headless.Name] = true
	}
	for _, p := range groups {
		if !keep[p.kind+"/"+p.name] {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		l, err := p.labels(ctx)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("reading %s %s/%s of model endpoint %s: %w", p.kind, t.ns, p.name, t.name, err)
		case !ours(l, t.cluster, t.name):
			continue
		}
		if err := p.delete(ctx); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s/%s of model endpoint %s: %w", p.kind, t.ns, p.name, t.name, err)
		}
	}
	return nil
}

// found is one read of an endpoint.
type found struct {
	t   endpointTarget
	dep *appsv1.Deployment // nil: a multi-node endpoint (groups)
	// groups are a multi-node endpoint's StatefulSets by replica index.
	groups   []appsv1.StatefulSet
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
		dep, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Deployment %s/%s of model endpoint %s: %w", t.ns, t.name, t.name, err)
	}
	f := &found{t: t, dep: dep}
	// The annotations live on the Deployment, or on each StatefulSet of a multi-node endpoint.
	kind, objName, annotations, template := "Deployment", t.name, map[string]string(nil), map[string]string(nil)
	if dep != nil {
		annotations, template = dep.Annotations, dep.Spec.Template.Annotations
	} else {
		if f.groups, err = listGroups(ctx, c, t); err != nil {
			return nil, err
		}
		if len(f.groups) == 0 {
			return nil, fmt.Errorf("model endpoint %s of inference cluster %s: Deployment %s/%s: %w", t.name, t.clusterID, t.ns, t.name, backend.ErrNotFound)
		}
		g := f.groups[0]
		kind, objName, annotations, template = "StatefulSet", g.Name, g.Annotations, g.Spec.Template.Annotations
	}
	if s := annotations[AnnotationSettings]; s != "" {
		if err := json.Unmarshal([]byte(s), &f.settings); err != nil {
			return nil, fmt.Errorf("reading model endpoint %s: annotation %s of %s %s/%s: %w", t.name, AnnotationSettings, kind, t.ns, objName, err)
		}
	}
	if s := template[AnnotationSpec]; s != "" {
		var e appliedEngine
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return nil, fmt.Errorf("reading model endpoint %s: annotation %s of %s %s/%s: %w", t.name, AnnotationSpec, kind, t.ns, objName, err)
		}
		f.engine = &e
	}
	if f.engine != nil {
		edited := func(kind, name string, tpl corev1.PodTemplateSpec) {
			if d := templateDrift(tpl, f.engine); d != "" {
				f.missing = append(f.missing, fmt.Sprintf("%s %s/%s as applied (edited outside Terraform: %s)", kind, t.ns, name, d))
			}
		}
		if dep != nil {
			edited("Deployment", t.name, dep.Spec.Template)
		}
		for _, g := range f.groups {
			edited("StatefulSet", g.Name, g.Spec.Template)
		}
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
	if dep == nil {
		have := map[string]bool{}
		for _, g := range f.groups {
			have[g.Name] = true
		}
		for i := range int(f.desired()) {
			if !have[GroupName(t.name, i)] {
				f.missing = append(f.missing, "StatefulSet "+t.ns+"/"+GroupName(t.name, i))
			}
		}
		_, err = c.CoreV1().Services(t.ns).Get(ctx, HeadlessServiceName(t.name), metav1.GetOptions{})
		errs = append(errs, missing("Service", HeadlessServiceName(t.name), err))
	}
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

// desired is the Deployment's replicas (the HorizontalPodAutoscaler's choice when it has one),
// or the replica groups a multi-node endpoint was applied with.
func (f *found) desired() int64 {
	if f.dep == nil {
		if f.settings.Replicas > 0 {
			return f.settings.Replicas
		}
		return int64(len(f.groups))
	}
	if f.dep.Spec.Replicas == nil {
		return 1
	}
	return int64(*f.dep.Spec.Replicas)
}

// replicaCounts are the ready and updated replicas: the Deployment's, or the groups every rank
// of which is ready (and runs the StatefulSet's current template).
func (f *found) replicaCounts() (ready, updated int64) {
	if f.dep != nil {
		return int64(f.dep.Status.ReadyReplicas), int64(f.dep.Status.UpdatedReplicas)
	}
	for _, g := range f.groups {
		if groupIndex(g) < 0 || int64(groupIndex(g)) >= f.desired() {
			continue
		}
		want := stsReplicas(&g)
		if g.Status.ReadyReplicas == want {
			ready++
		}
		if g.Status.UpdatedReplicas == want && g.Status.ObservedGeneration >= g.Generation {
			updated++
		}
	}
	return ready, updated
}

// rolledOutAll reports whether every desired replica runs the current template and is ready.
func (f *found) rolledOutAll() bool {
	if f.dep != nil {
		return rolledOut(f.dep)
	}
	n := 0
	for _, g := range f.groups {
		if i := groupIndex(g); i < 0 || int64(i) >= f.desired() {
			return false // one to be deleted
		}
		if !groupRolledOut(&g) {
			return false
		}
		n++
	}
	return int64(n) == f.desired()
}

func stsReplicas(s *appsv1.StatefulSet) int32 {
	if s.Spec.Replicas == nil {
		return 1
	}
	return *s.Spec.Replicas
}

// groupRolledOut reports whether every rank of a group runs the StatefulSet's current template
// and is ready.
func groupRolledOut(s *appsv1.StatefulSet) bool {
	want := stsReplicas(s)
	st := s.Status
	return st.ObservedGeneration >= s.Generation && st.Replicas == want && st.ReadyReplicas == want && st.UpdatedReplicas == want &&
		st.AvailableReplicas == want && (st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision)
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
	ready, updated := f.replicaCounts()
	details := &EndpointDetails{
		Namespace: t.ns, Deployment: t.name, Service: t.name, ServiceHost: ServiceHost(t.ns, t.name), Port: port,
		ReadyReplicas: ready, UpdatedReplicas: updated,
		Settings: f.settings.Settings,
	}
	if f.dep == nil {
		details.Deployment, details.HeadlessService = "", HeadlessServiceName(t.name)
		for _, g := range f.groups {
			details.StatefulSets = append(details.StatefulSets, g.Name)
		}
	}
	out := &backend.Endpoint{
		ID: backend.EndpointID(t.clusterID, t.name), ClusterID: t.clusterID, Name: t.name,
		URL:           ServiceURL(t.ns, t.name, port),
		MetricsTarget: ServiceHost(t.ns, t.name) + ":" + strconv.FormatInt(port, 10),
		Desired:       f.desired(), Missing: f.missing,
		Details: details,
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
	switch {
	case f.rolledOutAll() && out.Desired > 0:
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
	f, err := b.readEndpoint(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	e := f.endpoint()
	return e, f.target(e), nil
}

// readEndpoint reads endpoint name of cluster clusterID (read, with the client and target).
func (b *Backend) readEndpoint(ctx context.Context, clusterID, name string) (*found, error) {
	c, err := b.clientset()
	if err != nil {
		return nil, err
	}
	t, err := targetOf(clusterID, name)
	if err != nil {
		return nil, err
	}
	return b.read(ctx, c, t)
}

func (f *found) target(e *backend.Endpoint) *backend.Target {
	if f.secret == nil || f.engine == nil || len(f.secret.Data[SecretKeyAPIKey]) == 0 {
		return nil
	}
	t := &backend.Target{URLs: []string{e.URL}, ServedModelName: f.engine.ServedModelName, APIKey: string(f.secret.Data[SecretKeyAPIKey])}
	if ready, _ := f.replicaCounts(); ready > 0 {
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
	f, err := b.readEndpoint(ctx, clusterID, name)
	if err != nil {
		return nil, nil, err
	}
	if f.engine == nil {
		return nil, nil, fmt.Errorf("model endpoint %s: the pod template of its Deployment (or StatefulSets) in %s has no %s annotation: it was not made by this provider, or was edited",
			name, f.t.ns, AnnotationSpec)
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
	groups, err := groupParts(ctx, c, t)
	if err != nil {
		return nil, err
	}
	ps := append(groups, parts(c, t.ns, t.name)...)
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
		groups, err := groupParts(ctx, c, t)
		if err != nil {
			return false, nil, err
		}
		for _, p := range append(groups, parts(c, t.ns, t.name)...) {
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
