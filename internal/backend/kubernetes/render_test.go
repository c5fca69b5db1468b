package kubernetes

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderers")

const (
	testAPIKey  = "sk-test-key-do-not-leak-4711"
	testHFToken = "hf_test_token_do_not_leak_0815"
)

func testNode() vllm.Spec {
	return vllm.Spec{
		Model:  vllm.Model{ID: "meta-llama/Llama-3.1-8B-Instruct", Revision: "0e9e39f249a16976918f6564b8830bc894c89659"},
		Engine: vllm.Engine{TensorParallelSize: 2, MaxModelLen: 8192, ExtraArgs: []string{"--enforce-eager"}},
	}
}

func renderCases() map[string]endpointInput {
	secs := int64(300)
	full := endpointInput{
		Cluster: ClusterSpec{
			Name: "gpu", Namespace: "inference",
			NodeSelector: map[string]string{"nvidia.com/gpu.product": "NVIDIA-L40S"},
			Tolerations: []Toleration{
				{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"},
				{Key: "spot", Operator: "Equal", Value: "true", Effect: "NoExecute", TolerationSeconds: &secs},
			},
			RuntimeClass: "nvidia",
			ModelCache:   &ModelCache{StorageClass: "efs", SizeGiB: 500},
		},
		Spec: backend.EndpointSpec{
			ClusterID: ClusterID("inference", "gpu"), Name: "llama",
			Node:     func() vllm.Spec { n := testNode(); n.ReadyTimeout = 30 * time.Minute; return n }(),
			Replicas: 2, MinReplicas: 1, MaxReplicas: 4,
			APIKey: testAPIKey, HFToken: testHFToken,
			ScaleTarget: &backend.ScaleTarget{Metric: backend.MetricRequestsWaiting, Value: 5},
			Settings: &EndpointSettings{
				Port: 80, ServiceType: "LoadBalancer",
				ServiceAnnotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
				AllowedNamespaces:  []string{"gateway", "monitoring"}, AllowedCIDRs: []string{"10.0.0.0/8"},
				SharedMemoryMiB: 16384,
			},
		},
		SecretVersion: "4242",
	}
	minimal := endpointInput{
		Cluster: ClusterSpec{Name: "pool", Namespace: "default"},
		Spec: backend.EndpointSpec{
			ClusterID: ClusterID("default", "pool"), Name: "small", Node: testNode(),
			Replicas: 1, APIKey: testAPIKey,
		},
		SecretVersion: "7",
	}
	return map[string]endpointInput{"full": full, "minimal": minimal}
}

func TestRenderEndpoint(t *testing.T) {
	t.Parallel()
	for name, in := range renderCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			set, err := endpointSettingsOf(in.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if p := validateEndpointSettings(set); len(p) > 0 {
				t.Fatal(errors.Join(p...))
			}
			in.Settings = set
			r := int32(in.Spec.Replicas)
			in.Replicas = &r
			objs, err := renderEndpoint(in)
			if err != nil {
				t.Fatal(err)
			}
			docs := []any{objs.Secret, objs.Deployment, objs.Service, objs.PDB, objs.NetworkPolicy}
			if (in.Spec.ScaleTarget != nil) != (objs.HPA != nil) {
				t.Errorf("HPA rendered %v, want %v", objs.HPA != nil, in.Spec.ScaleTarget != nil)
			}
			if objs.HPA != nil {
				docs = append(docs, objs.HPA)
			}
			var all []string
			for i, d := range docs {
				b, err := yaml.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 { // every object but the Secret
					for _, s := range []string{testAPIKey, testHFToken} {
						if strings.Contains(string(b), s) {
							t.Errorf("a secret value is in %s", strings.SplitN(string(b), "\n", 3)[:2])
						}
					}
				}
				all = append(all, string(b))
			}
			got := strings.Join(all, "---\n")
			golden(t, filepath.Join("testdata", name+".golden"), got)

			node := in.Spec.Node
			node.Endpoint = in.Spec.Name
			node.Secrets.APIKey = vllm.SecretRef{Source: vllm.SecretFile, Name: "/k"}
			want, err := node.ServeArgs(ContainerPort)
			if err != nil {
				t.Fatal(err)
			}
			c := objs.Deployment.Spec.Template.Spec.Containers[0]
			if !reflect.DeepEqual(c.Args, want) {
				t.Errorf("container args = %q, want vllm ServeArgs %q", c.Args, want)
			}
			if c.Command != nil {
				t.Errorf("container command = %q, want the image's entrypoint (vllm serve)", c.Command)
			}
			if *c.Image != vllm.DefaultImage {
				t.Errorf("image = %s, want %s", *c.Image, vllm.DefaultImage)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendering (go test -update rewrites it):\n%s", path, got)
	}
}

func TestRenderEndpointNoHPAWithoutTarget(t *testing.T) {
	t.Parallel()
	in := renderCases()["full"]
	in.Spec.ScaleTarget = nil
	set, _ := endpointSettingsOf(in.Spec)
	in.Settings = set
	objs, err := renderEndpoint(in)
	if err != nil {
		t.Fatal(err)
	}
	if objs.HPA != nil {
		t.Error("an HPA without a scale target")
	}
	if objs.Deployment.Spec.Replicas != nil {
		t.Errorf("replicas set with Replicas nil: %d", *objs.Deployment.Spec.Replicas)
	}
}

func TestEndpointSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := endpointSettingsOf(backend.EndpointSpec{MaxUnavailable: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 8000 || s.ServiceType != "ClusterIP" || *s.MaxSurge != 1 || *s.MaxUnavailable != 2 ||
		s.StartupSeconds != 1200 || s.SharedMemoryMiB != 8192 {
		t.Errorf("defaults = %+v", s)
	}
	if _, err := endpointSettingsOf(backend.EndpointSpec{Settings: "nope"}); err == nil {
		t.Error("settings of another type: no error")
	}
}

func TestMetricName(t *testing.T) {
	t.Parallel()
	for m := range vllm.ServingMetrics {
		n := MetricName(m)
		if strings.Contains(n, ":") || servingMetricOf(n) != m {
			t.Errorf("MetricName(%s) = %s; back: %q", m, n, servingMetricOf(n))
		}
	}
	if MetricName(backend.MetricRequestsWaiting) != "vllm_num_requests_waiting" {
		t.Errorf("requests_waiting → %s", MetricName(backend.MetricRequestsWaiting))
	}
}

func TestClusterIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, ns, name string
		ok           bool
	}{
		{"kubernetes/ml/gpu", "ml", "gpu", true},
		{"ml/gpu", "ml", "gpu", true},
		{"kubernetes/ml", "", "", false},
		{"gpu", "", "", false},
		{"kubernetes/ml/gpu/x", "", "", false},
		{"kubernetes//gpu", "", "", false},
	} {
		ns, name, err := ParseClusterID(tc.in)
		if (err == nil) != tc.ok || ns != tc.ns || name != tc.name {
			t.Errorf("ParseClusterID(%q) = %q, %q, %v", tc.in, ns, name, err)
		}
	}
	b := New(Config{})
	id, err := b.ImportClusterID(t.Context(), "ml/gpu")
	if err != nil || id != "kubernetes/ml/gpu" || b.ClusterKey(id) != id {
		t.Errorf("ImportClusterID = %q, %v", id, err)
	}
}

func TestValidateCluster(t *testing.T) {
	t.Parallel()
	secs := int64(5)
	for _, tc := range []struct {
		name  string
		spec  ClusterSpec
		attrs []string
	}{
		{"ok", ClusterSpec{Name: "gpu", Namespace: "ml", NodeSelector: map[string]string{"nvidia.com/gpu.present": "true"},
			Tolerations: []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists"}}, RuntimeClass: "nvidia"}, nil},
		{"namespace", ClusterSpec{Name: "gpu", Namespace: "ML_Team"}, []string{"namespace"}},
		{"selector", ClusterSpec{Name: "gpu", Namespace: "ml", NodeSelector: map[string]string{"bad key!": "x", "ok": "bad value!"}},
			[]string{"node_selector", "node_selector"}},
		{"tolerations", ClusterSpec{Name: "gpu", Namespace: "ml", Tolerations: []Toleration{
			{Key: "a", Operator: "Maybe"},
			{Key: "b", Effect: "NoWay"},
			{Key: "c", Operator: "Exists", Value: "v"},
			{Operator: "Equal"},
			{Key: "d", Effect: "NoSchedule", TolerationSeconds: &secs},
		}}, []string{"tolerations[0].operator", "tolerations[1].effect", "tolerations[2].value", "tolerations[3].operator", "tolerations[4].toleration_seconds"}},
		{"runtime class", ClusterSpec{Name: "gpu", Namespace: "ml", RuntimeClass: "Nvidia!"}, []string{"runtime_class"}},
		{"model cache", ClusterSpec{Name: "gpu", Namespace: "ml", ModelCache: &ModelCache{}}, []string{"model_cache.size_gib"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var attrs []string
			for _, p := range backend.InputErrors(validateCluster(tc.spec)) {
				attrs = append(attrs, p.Attribute)
				if p.Detail == "" || p.Summary == "" {
					t.Errorf("problem without summary or detail: %+v", p)
				}
			}
			if !reflect.DeepEqual(attrs, tc.attrs) {
				t.Errorf("attributes = %q, want %q", attrs, tc.attrs)
			}
		})
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	nodes := []Node{
		{Name: "a", GPUProduct: "NVIDIA-L40S", GPUs: 2, GPUMemoryMiB: 46068},
		{Name: "b", GPUProduct: "NVIDIA-A100-SXM4-80GB", GPUs: 4, GPUMemoryMiB: 81920},
	}
	got := capacityOf(nodes)
	want := &backend.Capacity{GPUModel: "NVIDIA-A100-SXM4-80GB", GPUMemoryMiB: 81920, GPUsPerNode: 4, TotalGPUs: 6,
		StagesSpanNodes: true, NodeGPUs: []int64{2, 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("capacity = %+v, want %+v", got, want)
	}
	if c := capacityOf([]Node{{Name: "a", GPUs: 2}}); c != nil {
		t.Errorf("capacity without GPU memory = %+v, want nil", c)
	}
	if c := capacityOf(nil); c != nil {
		t.Errorf("capacity of no node = %+v, want nil", c)
	}
}

func TestRESTConfig(t *testing.T) {
	t.Parallel()
	rc, err := RESTConfig(Config{Host: "https://127.0.0.1:6443", Token: "t", UserAgent: "inferstack/test",
		Exec: &ExecConfig{Command: "aws", Args: []string{"eks", "get-token"}, Env: map[string]string{"B": "2", "A": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rc.UserAgent != "inferstack/test" || rc.QPS != clientQPS || rc.ExecProvider == nil || rc.ExecProvider.Env[0].Name != "A" {
		t.Errorf("rest config = %+v", rc)
	}
	if _, err := RESTConfig(Config{ConfigPaths: []string{filepath.Join(t.TempDir(), "missing")}}); err == nil ||
		!strings.Contains(err.Error(), "config_path") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}
