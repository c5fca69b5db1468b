package kubernetes

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// multiNodeInput is the 405B shape in small: tensor 2 x pipeline 2, two replica groups.
func multiNodeInput() endpointInput {
	node := testNode()
	node.Engine.PipelineParallelSize = 2
	return endpointInput{
		Cluster: ClusterSpec{Name: "pool", Namespace: "ml",
			Tolerations: []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}}},
		Spec: backend.EndpointSpec{
			ClusterID: ClusterID("ml", "pool"), Name: "big", Node: node,
			Replicas: 2, APIKey: testAPIKey, HFToken: testHFToken,
		},
		SecretVersion: "11",
	}
}

func renderMultiNode(t *testing.T, in endpointInput) *endpointObjects {
	t.Helper()
	set, err := endpointSettingsOf(in.Spec)
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = set
	objs, err := renderEndpoint(in)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestRenderMultiNode(t *testing.T) {
	t.Parallel()
	objs := renderMultiNode(t, multiNodeInput())
	if objs.Deployment != nil || len(objs.StatefulSets) != 2 || objs.Headless == nil || objs.HPA != nil {
		t.Fatalf("objects: deployment %v, %d StatefulSets, headless %v", objs.Deployment != nil, len(objs.StatefulSets), objs.Headless != nil)
	}
	docs := []any{objs.Secret, objs.Headless}
	for _, s := range objs.StatefulSets {
		docs = append(docs, s)
	}
	docs = append(docs, objs.Service, objs.PDB, objs.NetworkPolicy)
	var all []string
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (strings.Contains(string(b), testAPIKey) || strings.Contains(string(b), testHFToken)) {
			t.Errorf("a secret value is in %s", strings.SplitN(string(b), "\n", 3)[:2])
		}
		all = append(all, string(b))
	}
	golden(t, filepath.Join("testdata", "multinode.golden"), strings.Join(all, "---\n"))

	node := multiNodeInput().Spec.Node
	node.Endpoint = "big"
	node.Secrets.APIKey = vllm.SecretRef{Source: vllm.SecretFile, Name: "/k"}
	serve, err := node.ServeArgs(ContainerPort)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range objs.StatefulSets {
		if *s.Name != GroupName("big", i) || *s.Spec.Replicas != 2 || *s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement ||
			*s.Spec.ServiceName != "big-headless" {
			t.Errorf("StatefulSet %d: %s replicas %d policy %s service %s", i, *s.Name, *s.Spec.Replicas, *s.Spec.PodManagementPolicy, *s.Spec.ServiceName)
		}
		c := s.Spec.Template.Spec.Containers[0]
		want := append(slices.Clone(serve), "--nnodes", "2", "--node-rank", "$(NODE_RANK)", "--master-addr", LeaderHost("ml", "big", i))
		if !slices.Equal(c.Args, want) {
			t.Errorf("group %d args = %q, want %q", i, c.Args, want)
		}
		if !slices.Contains(want, "--pipeline-parallel-size") || !strings.Contains(strings.Join(c.Command, " "), `set -- "$@" --headless`) {
			t.Errorf("group %d command = %q", i, c.Command)
		}
		if q := (*c.Resources.Limits)[ResourceGPU]; q.Value() != 2 {
			t.Errorf("group %d: %s GPUs per pod, want tensor_parallel_size 2", i, q.String())
		}
		anti := s.Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
		if *anti.TopologyKey != corev1.LabelHostname || anti.LabelSelector.MatchLabels[LabelGroup] != itoa(i) {
			t.Errorf("group %d anti-affinity = %+v", i, anti)
		}
	}
	if objs.Service.Spec.Selector[appsv1.PodIndexLabel] != "0" {
		t.Errorf("Service selector = %v, want the leaders only", objs.Service.Spec.Selector)
	}
	if _, ok := objs.PDB.Spec.Selector.MatchLabels[appsv1.PodIndexLabel]; ok {
		t.Errorf("PDB selector = %v, want every pod", objs.PDB.Spec.Selector.MatchLabels)
	}
	if *objs.Headless.Spec.ClusterIP != corev1.ClusterIPNone || !*objs.Headless.Spec.PublishNotReadyAddresses {
		t.Errorf("headless Service = %+v", objs.Headless.Spec)
	}
}

func itoa(i int) string { return GroupName("", i)[1:] }

func TestRenderMultiNodeRefuses(t *testing.T) {
	t.Parallel()
	in := multiNodeInput()
	in.Spec.ScaleTarget = &backend.ScaleTarget{Metric: backend.MetricRequestsWaiting, Value: 3}
	in.Spec.Node.LoRAAdapters = []vllm.LoRAAdapter{{Name: "sql", Source: "org/sql-lora"}, {Name: "local", Source: "/models/lora"}}
	set, _ := endpointSettingsOf(in.Spec)
	in.Settings = set
	_, err := renderEndpoint(in)
	var attrs []string
	for _, p := range backend.InputErrors(err) {
		attrs = append(attrs, p.Attribute)
	}
	if !slices.Equal(attrs, []string{"lora_adapters[1].source", "autoscaling.target"}) {
		t.Errorf("problems at %q (%v)", attrs, err)
	}
	if err == nil || !strings.Contains(err.Error(), "Hugging Face repository id") {
		t.Errorf("error = %v", err)
	}
	// A Hub adapter on a single-node endpoint is fine.
	single := renderCases()["minimal"]
	single.Spec.Node.LoRAAdapters = []vllm.LoRAAdapter{{Name: "sql", Source: "org/sql-lora"}}
	set, _ = endpointSettingsOf(single.Spec)
	single.Settings = set
	if _, err := renderEndpoint(single); err != nil {
		t.Errorf("a Hub adapter: %v", err)
	}
}

func TestFoundMultiNode(t *testing.T) {
	t.Parallel()
	group := func(i int, ready int32, rolled bool) appsv1.StatefulSet {
		r := int32(2)
		s := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: GroupName("big", i), Generation: 3,
			Labels: map[string]string{LabelGroup: itoa(i)}}, Spec: appsv1.StatefulSetSpec{Replicas: &r}}
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 2, ReadyReplicas: ready, AvailableReplicas: ready,
			UpdatedReplicas: 2, CurrentRevision: "a", UpdateRevision: "a"}
		if !rolled {
			s.Status.UpdateRevision = "b"
			s.Status.UpdatedReplicas = 1
		}
		return s
	}
	f := &found{t: endpointTarget{clusterID: "kubernetes/ml/pool", ns: "ml", cluster: "pool", name: "big"},
		settings: appliedSettings{Replicas: 2}, groups: []appsv1.StatefulSet{group(0, 2, true), group(1, 1, true)}}
	e := f.endpoint()
	if e.Status != backend.StatusDegraded || e.Desired != 2 || e.Details.(*EndpointDetails).ReadyReplicas != 1 {
		t.Errorf("one group of two ready: %+v %+v", e, e.Details)
	}
	f.groups[1] = group(1, 2, true)
	if e = f.endpoint(); e.Status != backend.StatusReady || e.Details.(*EndpointDetails).HeadlessService != "big-headless" {
		t.Errorf("both ready: %+v %+v", e, e.Details)
	}
	f.groups[1] = group(1, 2, false)
	if e = f.endpoint(); e.Status != backend.StatusDegraded {
		t.Errorf("a group rolling: %+v", e)
	}
	f.groups = f.groups[:1]
	if e = f.endpoint(); e.Status == backend.StatusReady {
		t.Errorf("a group missing: %+v", e)
	}
}

func TestImagePullFailure(t *testing.T) {
	t.Parallel()
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "llama-abc", Namespace: "ml", UID: "u1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: "vllm/vllm-openai:v9.9.9"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: ContainerName, Image: "vllm/vllm-openai:v9.9.9",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
				Message: `Back-off pulling image "vllm/vllm-openai:v9.9.9": manifest unknown`}},
		}}}}
	f := pullFailures{}
	t0 := time.Now()
	if err := f.check(p, t0, time.Minute); err != nil {
		t.Fatalf("first sight: %v", err)
	}
	if err := f.check(p, t0.Add(30*time.Second), time.Minute); err != nil {
		t.Fatalf("within the grace: %v", err)
	}
	err := f.check(p, t0.Add(61*time.Second), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "vllm/vllm-openai:v9.9.9") || !strings.Contains(err.Error(), "manifest unknown") ||
		!strings.Contains(err.Error(), "ImagePullBackOff") {
		t.Errorf("past the grace: %v", err)
	}
	// A pull that recovers starts the clock again.
	running := p
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if err := f.check(running, t0.Add(62*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.check(p, t0.Add(63*time.Second), time.Minute); err != nil {
		t.Errorf("after recovering: %v", err)
	}
}
