package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/hfhub"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/kubelab"
	standin "github.com/inferstack/terraform-provider-inferstack/internal/acctest/litellm"
)

// Clusters and endpoints on the lab's real control plane (kube-apiserver, controller-manager,
// scheduler, etcd; kwok plays the kubelets of fake GPU nodes). Every test gets GPU nodes of its
// own, labelled with its pool, so that tests running in parallel do not take each other's GPUs;
// the real scheduler places replicas on them by nvidia.com/gpu. Nothing connects to a Service or
// Pod address: the tests ask the API server on 127.0.0.1.

type k8sFixture struct {
	t    *testing.T
	lab  *kubelab.Lab
	name string // the cluster's name
	ns   string // its namespace
	pool string // the node label value that selects the test's nodes
}

const k8sPoolLabel = "inferstack.test/pool"

// newK8sFixture adds the test's GPU nodes: gpus[i] GPUs of product on node <pool>-<i>.
func newK8sFixture(t *testing.T, suffix, product string, memMiB int64, gpus ...int) k8sFixture {
	t.Helper()
	lab := acctest.Kubernetes(t)
	f := k8sFixture{t: t, lab: lab, name: acctest.TestName(suffix), pool: acctest.TestName(suffix)}
	f.ns = f.name
	for i, n := range gpus {
		node := fmt.Sprintf("%s-%d", f.pool, i)
		if _, err := lab.AddGPUNode(context.Background(), kubelab.NodeSpec{
			Name: node, GPUProduct: product, GPUs: n, GPUMemoryMiB: memMiB,
			Labels: map[string]string{k8sPoolLabel: f.pool},
		}); err != nil {
			t.Fatalf("adding node %s: %v", node, err)
		}
		t.Cleanup(func() { _ = lab.DeleteNode(context.Background(), node) })
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, err := range lab.Exited() {
				t.Logf("the Kubernetes lab: %v", err)
			}
		}
	})
	return f
}

func (f k8sFixture) client() kubernetes.Interface { return f.lab.Client() }

func (f k8sFixture) provider(gw *standin.Server) string {
	b := "provider \"inferstack\" {\n" + huggingFaceBlock(sharedHub().URL, "") +
		fmt.Sprintf("  kubernetes {\n    host                   = %q\n    token                  = %q\n    cluster_ca_certificate = %q\n  }\n",
			f.lab.Host, f.lab.Token, string(f.lab.CACertPEM))
	if gw != nil {
		b += fmt.Sprintf("  gateway {\n    url        = %q\n    master_key = %q\n  }\n", gw.URL, gatewayMasterKey)
	}
	return b + "}\n"
}

func (f k8sFixture) clusterBlock() string {
	return fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name = %q
  kubernetes = {
    namespace     = %q
    node_selector = { %q = %q }
    tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  }
}
`, f.name, f.ns, k8sPoolLabel, f.pool)
}

// endpoint is an endpoint resource named addr on the test's cluster. Unless extra sets its
// timeouts, a create or update waits at most 8 minutes, not the resource's 30: a rollout on kwok
// takes seconds, and a stuck one should fail the test while the lab still shows why.
func (f k8sFixture) endpoint(addr, name string, replicas int, extra string) string {
	if !strings.Contains(extra, "timeouts") {
		extra += "\n  timeouts = { create = \"8m\", update = \"8m\" }"
	}
	return fmt.Sprintf(`
resource "inferstack_model_endpoint" %q {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  replicas   = %d
  api_key    = %q
%s
}
`, addr, name, replicas, endpointAPIKey, extra)
}

func (f k8sFixture) deployment(name string) (*appsv1.Deployment, error) {
	return f.client().AppsV1().Deployments(f.ns).Get(context.Background(), name, metav1.GetOptions{})
}

// checkDeployment asserts what the endpoint's Deployment runs: replicas, the pinned revision and
// served name in the arguments (and no secret there), GPUs per pod, the key from the Secret.
func (f k8sFixture) checkDeployment(name string, replicas int32, gpus int64, args ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := f.deployment(name)
		if err != nil {
			return fmt.Errorf("reading the Deployment: %w", err)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			return fmt.Errorf("Deployment replicas = %v, want %d", d.Spec.Replicas, replicas)
		}
		if d.Status.ReadyReplicas != replicas {
			return fmt.Errorf("Deployment ready replicas = %d, want %d", d.Status.ReadyReplicas, replicas)
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			return fmt.Errorf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
		}
		c := d.Spec.Template.Spec.Containers[0]
		all := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
		for _, a := range append([]string{"--revision " + sharedHub().SHA(hfhub.Qwen7BID, "main"), "--served-model-name Qwen/Qwen2.5-7B-Instruct"}, args...) {
			if !strings.Contains(all, a) {
				return fmt.Errorf("the container's arguments lack %q: %s", a, all)
			}
		}
		if strings.Contains(all, endpointAPIKey) {
			return fmt.Errorf("the API key is in the container's arguments")
		}
		if got := c.Resources.Limits.Name("nvidia.com/gpu", "0"); got.Value() != gpus {
			return fmt.Errorf("nvidia.com/gpu limit = %s, want %d", got, gpus)
		}
		var keyFromSecret bool
		for _, e := range c.Env {
			if e.Value == endpointAPIKey {
				return fmt.Errorf("the API key is a literal env value (%s)", e.Name)
			}
			if e.Name == "VLLM_API_KEY" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				keyFromSecret = true
			}
		}
		if !keyFromSecret {
			return fmt.Errorf("VLLM_API_KEY does not come from a Secret")
		}
		if d.Spec.Template.Spec.NodeSelector[k8sPoolLabel] != f.pool {
			return fmt.Errorf("node selector %v lacks the cluster's %s=%s", d.Spec.Template.Spec.NodeSelector, k8sPoolLabel, f.pool)
		}
		return nil
	}
}

// objectsLeft lists what of the test's is left in its namespace (by the managed-by label),
// and whether the namespace is still there and not terminating.
func (f k8sFixture) objectsLeft() ([]string, error) {
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=inferstack"}
	var left []string
	c := f.client()
	if l, err := c.AppsV1().Deployments(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "Deployment "+o.Name)
		}
	} else {
		return nil, err
	}
	if l, err := c.CoreV1().Services(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "Service "+o.Name)
		}
	} else {
		return nil, err
	}
	if l, err := c.CoreV1().Secrets(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "Secret "+o.Name)
		}
	} else {
		return nil, err
	}
	if l, err := c.CoreV1().ConfigMaps(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "ConfigMap "+o.Name)
		}
	} else {
		return nil, err
	}
	if l, err := c.PolicyV1().PodDisruptionBudgets(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "PodDisruptionBudget "+o.Name)
		}
	} else {
		return nil, err
	}
	if l, err := c.NetworkingV1().NetworkPolicies(f.ns).List(ctx, sel); err == nil {
		for _, o := range l.Items {
			left = append(left, "NetworkPolicy "+o.Name)
		}
	} else {
		return nil, err
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, f.ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, err
	case ns.Status.Phase != corev1.NamespaceTerminating:
		left = append(left, "Namespace "+f.ns)
	}
	return left, nil
}

func (f k8sFixture) checkDestroyed(*terraform.State) error {
	left, err := f.objectsLeft()
	if err != nil {
		return fmt.Errorf("asking the API server what is left: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("left after destroy: %s", strings.Join(left, ", "))
	}
	return nil
}

const k8sEndpointAddr = "inferstack_model_endpoint.test"
const k8sClusterAddr = "inferstack_inference_cluster.test"

// TestAccKubernetes_basic: a cluster and an endpoint with a route, import of both, replicas
// changed in place, an engine setting that rolls the Deployment, and a Deployment deleted out of
// band planned back.
func TestAccKubernetes_basic(t *testing.T) {
	t.Parallel()
	f := newK8sFixture(t, "k8s", "NVIDIA-L40S", 46068, 2, 2)
	gw := startGateway(t)
	endpoint := acctest.TestName("qwen")
	route := acctest.TestName("k8s-route")
	clusterID := "kubernetes/" + f.ns + "/" + f.name
	wantURL := fmt.Sprintf("http://%s.%s.svc:8000/v1", endpoint, f.ns)
	routeHCL := fmt.Sprintf("\nresource \"inferstack_api_route\" \"test\" {\n  name        = %q\n  endpoint_id = inferstack_model_endpoint.test.id\n}\n", route)
	config := func(replicas int, extra string) string {
		return f.provider(gw) + f.clusterBlock() + f.endpoint("test", endpoint, replicas, extra) + routeHCL
	}
	var generation int64

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(f.checkDestroyed, checkAPIRoutesDestroyed(gw)),
		Steps: []resource.TestStep{
			{
				Config: config(1, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(k8sClusterAddr, tfjsonpath.New("id"), knownvalue.StringExact(clusterID)),
					statecheck.ExpectKnownValue(k8sClusterAddr, tfjsonpath.New("kubernetes").AtMapKey("nodes"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact(f.pool + "-0"), "gpu_product": knownvalue.StringExact("NVIDIA-L40S"),
							"gpus": knownvalue.Int64Exact(2), "gpu_memory_mib": knownvalue.Int64Exact(46068),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact(f.pool + "-1"), "gpu_product": knownvalue.StringExact("NVIDIA-L40S"),
							"gpus": knownvalue.Int64Exact(2), "gpu_memory_mib": knownvalue.Int64Exact(46068),
						}),
					})),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("id"), knownvalue.StringExact(clusterID+","+endpoint)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("url"), knownvalue.StringExact(wantURL)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("resolved_urls"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(wantURL)})),
					statecheck.ExpectKnownValue(apiRouteAddr, tfjsonpath.New("resolved_served_model_name"), knownvalue.StringExact("Qwen/Qwen2.5-7B-Instruct")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					f.checkDeployment(endpoint, 1, 1),
					checkRouteDeployments(gw, apiRouteAddr, func(_ int, d standin.Stored) error {
						return checkParams(d.LiteLLMParams, map[string]string{
							"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "api_base": wantURL, "api_key": endpointAPIKey,
						})
					}),
				),
			},
			{ResourceName: k8sClusterAddr, ImportState: true, ImportStateVerify: true},
			{
				ResourceName: k8sEndpointAddr, ImportState: true, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"api_key", "timeouts", "model.revision", "force_remove_unreachable", "rollout"},
			},
			{
				Config: config(2, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(k8sEndpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(f.checkDeployment(endpoint, 2, 1), func(*terraform.State) error {
					d, err := f.deployment(endpoint)
					if err == nil {
						generation = d.Generation
					}
					return err
				}),
			},
			{
				// An engine setting rolls the Deployment: a new pod template, every replica updated.
				Config: config(2, "  engine = { max_model_len = 8192 }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(k8sEndpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(f.checkDeployment(endpoint, 2, 1, "--max-model-len 8192"), func(*terraform.State) error {
					d, err := f.deployment(endpoint)
					if err != nil {
						return err
					}
					if d.Generation <= generation || d.Status.UpdatedReplicas != 2 || d.Status.ObservedGeneration != d.Generation {
						return fmt.Errorf("the Deployment did not roll: generation %d (was %d), observed %d, updated %d",
							d.Generation, generation, d.Status.ObservedGeneration, d.Status.UpdatedReplicas)
					}
					return nil
				}),
			},
			{
				// Deleted out of band: planned back, and made again.
				PreConfig: func() {
					if err := f.client().AppsV1().Deployments(f.ns).Delete(context.Background(), endpoint, metav1.DeleteOptions{}); err != nil {
						t.Fatalf("deleting the Deployment: %v", err)
					}
				},
				Config:             config(2, "  engine = { max_model_len = 8192 }"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config(2, "  engine = { max_model_len = 8192 }"),
				Check:  f.checkDeployment(endpoint, 2, 1, "--max-model-len 8192"),
			},
			{
				// Edited out of band (kubectl set image): planned back, and applied back.
				PreConfig: func() {
					patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"vllm","image":"vllm/vllm-openai:latest"}]}}}}`)
					if _, err := f.client().AppsV1().Deployments(f.ns).Patch(context.Background(), endpoint, k8stypes.StrategicMergePatchType, patch,
						metav1.PatchOptions{FieldManager: "kubectl-set"}); err != nil {
						t.Fatalf("editing the Deployment's image: %v", err)
					}
				},
				Config:             config(2, "  engine = { max_model_len = 8192 }"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config(2, "  engine = { max_model_len = 8192 }"),
				Check: resource.ComposeAggregateTestCheckFunc(f.checkDeployment(endpoint, 2, 1, "--max-model-len 8192"), func(*terraform.State) error {
					d, err := f.deployment(endpoint)
					if err != nil {
						return err
					}
					if img := d.Spec.Template.Spec.Containers[0].Image; img == "vllm/vllm-openai:latest" {
						return fmt.Errorf("the image edited out of band is still %s after the apply", img)
					}
					return nil
				}),
			},
		},
	})
}

// TestAccKubernetes_sharedPool: two endpoints share a pool of two GPUs; a third that does not fit
// fails the apply with the scheduler's own words, and the next apply without it converges.
func TestAccKubernetes_sharedPool(t *testing.T) {
	t.Parallel()
	f := newK8sFixture(t, "k8s-pool", "NVIDIA-A100-SXM4-80GB", 81920, 2)
	a, b, c := acctest.TestName("a"), acctest.TestName("b"), acctest.TestName("c")
	two := f.provider(nil) + f.clusterBlock() + f.endpoint("a", a, 1, "") + f.endpoint("b", b, 1, "")
	three := two + f.endpoint("c", c, 1, "  timeouts = { create = \"3m\" }")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config: two,
				Check:  resource.ComposeAggregateTestCheckFunc(f.checkDeployment(a, 1, 1), f.checkDeployment(b, 1, 1)),
			},
			{
				Config:      three,
				ExpectError: errorLike("Insufficient nvidia.com/gpu"),
			},
			{
				Config: two,
				Check: func(*terraform.State) error {
					if _, err := f.deployment(c); !apierrors.IsNotFound(err) {
						return fmt.Errorf("the endpoint that did not fit is still there after it left the configuration: %v", err)
					}
					return nil
				},
			},
		},
	})
}

// TestAccKubernetes_planChecks: bad settings are refused at plan time, naming the attribute.
func TestAccKubernetes_planChecks(t *testing.T) {
	t.Parallel()
	f := newK8sFixture(t, "k8s-bad", "NVIDIA-L40S", 46068)
	bad := func(block string) string {
		return f.provider(nil) + fmt.Sprintf("resource \"inferstack_inference_cluster\" \"test\" {\n  name = %q\n  kubernetes = %s\n}\n", f.name, block)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{
			{Config: bad(`{ namespace = "Not_A_Namespace" }`), PlanOnly: true, ExpectError: errorLike("namespace")},
			{Config: bad(`{ namespace = "ok", tolerations = [{ key = "x", effect = "Sometimes" }] }`), PlanOnly: true, ExpectError: errorLike("effect")},
			{
				Config:      f.provider(nil) + f.clusterBlock() + f.endpoint("test", "x", 1, "  kubernetes = { allowed_cidrs = [\"10.0.0.1/8\"] }"),
				PlanOnly:    true,
				ExpectError: errorLike("is not a CIDR block"),
			},
			{
				Config:      f.provider(nil) + f.clusterBlock() + f.endpoint("test", "x", 1, "  kubernetes = { service_annotations = { \"bad key!\" = \"v\" } }"),
				PlanOnly:    true,
				ExpectError: errorLike("is not an annotation key"),
			},
			{
				Config:      f.provider(nil) + f.clusterBlock() + f.endpoint("test", "x", 1, "  kubernetes = { service_annotations = { a = \"x\\u001b[31m\" } }"),
				PlanOnly:    true,
				ExpectError: errorLike("holds control characters"),
			},
			{
				Config:      f.provider(nil) + f.clusterBlock() + f.endpoint("test", "x", 1, "  kubernetes = { allowed_namespaces = [\"Gateway_NS\"] }"),
				PlanOnly:    true,
				ExpectError: errorLike("must be a namespace name"),
			},
		},
	})
}

// TestAccKubernetes_autoscalingTarget (issue 14): autoscaling.target makes a
// HorizontalPodAutoscaler (autoscaling/v2) on a Pods metric named after vLLM's gauge, with the
// bounds; the real HPA controller then says the metric cannot be had (no custom-metrics adapter
// runs in the lab), which is what a cluster without prometheus-adapter shows. Removing the target
// removes the HPA.
func TestAccKubernetes_autoscalingTarget(t *testing.T) {
	t.Parallel()
	f := newK8sFixture(t, "k8s-hpa", "NVIDIA-L40S", 46068, 2)
	endpoint := acctest.TestName("hpa")
	config := func(extra string) string {
		return f.provider(nil) + f.clusterBlock() + f.endpoint("test", endpoint, 1, extra)
	}
	hpa := func() (*autoscalingv2.HorizontalPodAutoscaler, error) {
		return f.client().AutoscalingV2().HorizontalPodAutoscalers(f.ns).Get(context.Background(), endpoint, metav1.GetOptions{})
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{
			{
				Config: config(`  autoscaling = { min = 1, max = 2, target = { metric = "requests_waiting", value = 4 } }`),
				Check: func(*terraform.State) error {
					h, err := hpa()
					if err != nil {
						return fmt.Errorf("reading the HorizontalPodAutoscaler: %w", err)
					}
					if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != endpoint {
						return fmt.Errorf("the HPA scales %s/%s, want Deployment/%s", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, endpoint)
					}
					if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 2 {
						return fmt.Errorf("the HPA's bounds are %v..%d, want 1..2", h.Spec.MinReplicas, h.Spec.MaxReplicas)
					}
					if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Pods == nil {
						return fmt.Errorf("the HPA's metrics are %+v, want one Pods metric", h.Spec.Metrics)
					}
					m := h.Spec.Metrics[0].Pods
					if m.Metric.Name != "vllm_num_requests_waiting" || m.Target.AverageValue == nil || m.Target.AverageValue.Value() != 4 {
						return fmt.Errorf("the HPA tracks %s at %v, want vllm_num_requests_waiting at 4 per pod", m.Metric.Name, m.Target.AverageValue)
					}
					// The HPA controller evaluates every 15 s: wait for its verdict on the metric.
					deadline := time.Now().Add(90 * time.Second)
					for {
						h, err := hpa()
						if err != nil {
							return err
						}
						for _, c := range h.Status.Conditions {
							if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "FailedGetPodsMetric" {
								t.Logf("the HPA controller says: %s", c.Message)
								return nil
							}
						}
						if time.Now().After(deadline) {
							return fmt.Errorf("the HPA controller did not report the missing metric source within 90s: conditions %+v", h.Status.Conditions)
						}
						time.Sleep(2 * time.Second)
					}
				},
			},
			{
				Config: config(""),
				Check: func(*terraform.State) error {
					if _, err := hpa(); !apierrors.IsNotFound(err) {
						return fmt.Errorf("the HPA is still there without autoscaling.target: %v", err)
					}
					return nil
				},
			},
		},
	})
}

// TestAccKubernetes_deploymentPlan: inferstack_deployment_plan sizes against a Kubernetes pool's
// own nodes (cluster_id), one candidate per kind of node, with the products and memory the nodes
// report, and the endpoint's metrics_targets name its Service.
func TestAccKubernetes_deploymentPlan(t *testing.T) {
	t.Parallel()
	lab := acctest.Kubernetes(t)
	f := newK8sFixture(t, "k8s-plan", "NVIDIA-L40S", 46068, 2, 2)
	big := f.pool + "-a100"
	if _, err := lab.AddGPUNode(context.Background(), kubelab.NodeSpec{
		Name: big, GPUProduct: "NVIDIA-A100-SXM4-80GB", GPUs: 4, GPUMemoryMiB: 81920, Labels: map[string]string{k8sPoolLabel: f.pool},
	}); err != nil {
		t.Fatalf("adding node %s: %v", big, err)
	}
	t.Cleanup(func() { _ = lab.DeleteNode(context.Background(), big) })
	endpoint := acctest.TestName("plan")
	const planAddr = "data.inferstack_deployment_plan.pool"
	config := f.provider(nil) + f.clusterBlock() + f.endpoint("test", endpoint, 1, "") + `
data "inferstack_deployment_plan" "pool" {
  model         = "Qwen/Qwen2.5-7B-Instruct"
  max_model_len = 8192
  concurrency   = 8
  cluster_id    = inferstack_inference_cluster.test.id
}
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             f.checkDestroyed,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(planAddr, tfjsonpath.New("evaluations"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"gpu_model": knownvalue.StringExact("L40S"), "gpus_per_node": knownvalue.Int64Exact(2),
						"gpu_memory_bytes": knownvalue.Int64Exact(46068 << 20), "fits": knownvalue.Bool(true),
					}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"gpu_model": knownvalue.StringRegexp(regexp.MustCompile(`A100`)), "gpus_per_node": knownvalue.Int64Exact(4),
						"gpu_memory_bytes": knownvalue.Int64Exact(81920 << 20), "fits": knownvalue.Bool(true),
					}),
				})),
				statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("metrics_targets"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectExact(map[string]knownvalue.Check{
						"target": knownvalue.StringExact(fmt.Sprintf("%s.%s.svc:8000", endpoint, f.ns)),
						"labels": knownvalue.MapPartial(map[string]knownvalue.Check{
							"endpoint": knownvalue.StringExact(endpoint), "model": knownvalue.StringExact("Qwen/Qwen2.5-7B-Instruct"),
						}),
					}),
				})),
			},
		}},
	})
}

// checkMultiNode asserts what a multi-node endpoint (tensor 2 x pipeline 2, one replica) runs:
// one StatefulSet of two pods on two different nodes, 2 GPUs each, vLLM's multi-node flags with
// the rank from the pod index and --headless on the workers, the Service on the leader only,
// and no Deployment.
func (f k8sFixture) checkMultiNode(name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		c := f.client()
		if _, err := f.deployment(name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("a Deployment for a multi-node endpoint: %v", err)
		}
		s, err := c.AppsV1().StatefulSets(f.ns).Get(ctx, name+"-0", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the StatefulSet: %w", err)
		}
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 2 || s.Status.ReadyReplicas != 2 || s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement ||
			s.Spec.ServiceName != name+"-headless" {
			return fmt.Errorf("StatefulSet %s: replicas %v, ready %d, policy %s, service %s", s.Name, s.Spec.Replicas, s.Status.ReadyReplicas,
				s.Spec.PodManagementPolicy, s.Spec.ServiceName)
		}
		ctr := s.Spec.Template.Spec.Containers[0]
		args, command := strings.Join(ctr.Args, " "), strings.Join(ctr.Command, " ")
		leader := fmt.Sprintf("%s-0-0.%s-headless.%s.svc", name, name, f.ns)
		for _, a := range []string{"--tensor-parallel-size 2", "--pipeline-parallel-size 2", "--nnodes 2", "--node-rank $(NODE_RANK)", "--master-addr " + leader} {
			if !strings.Contains(args, a) {
				return fmt.Errorf("the container's arguments lack %q: %s", a, args)
			}
		}
		if !strings.Contains(command, `if [ "$NODE_RANK" != 0 ]; then set -- "$@" --headless; fi; exec vllm serve "$@"`) {
			return fmt.Errorf("the workers do not start --headless: command %s", command)
		}
		if strings.Contains(args+command, endpointAPIKey) {
			return fmt.Errorf("the API key is in the container's command line")
		}
		rankFromIndex := false
		for _, e := range ctr.Env {
			if e.Name == "NODE_RANK" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
				e.ValueFrom.FieldRef.FieldPath == "metadata.labels['"+appsv1.PodIndexLabel+"']" {
				rankFromIndex = true
			}
		}
		if !rankFromIndex {
			return fmt.Errorf("NODE_RANK does not come from the pod index: %+v", ctr.Env)
		}
		if got := ctr.Resources.Limits.Name("nvidia.com/gpu", "0"); got.Value() != 2 {
			return fmt.Errorf("nvidia.com/gpu limit = %s, want tensor_parallel_size 2", got)
		}
		pods, err := c.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: "inferstack.io/endpoint=" + name})
		if err != nil {
			return err
		}
		nodes := map[string]string{}
		for _, p := range pods.Items {
			nodes[p.Labels[appsv1.PodIndexLabel]] = p.Spec.NodeName
		}
		if len(pods.Items) != 2 || nodes["0"] == "" || nodes["1"] == "" || nodes["0"] == nodes["1"] {
			return fmt.Errorf("%d pods, ranks on nodes %v: want ranks 0 and 1 on two nodes", len(pods.Items), nodes)
		}
		svc, err := c.CoreV1().Services(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if svc.Spec.Selector[appsv1.PodIndexLabel] != "0" || svc.Spec.Selector["inferstack.io/replica"] != "" {
			return fmt.Errorf("Service selector %v: want the leaders (pod index 0) of every group", svc.Spec.Selector)
		}
		return nil
	}
}

// statefulSetsLeft is CheckDestroy's question for multi-node endpoints: no StatefulSet of ours.
func (f k8sFixture) statefulSetsLeft(*terraform.State) error {
	l, err := f.client().AppsV1().StatefulSets(f.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=inferstack"})
	if err != nil {
		return fmt.Errorf("asking the API server for StatefulSets: %w", err)
	}
	if len(l.Items) > 0 {
		return fmt.Errorf("left after destroy: %d StatefulSet(s), the first %s", len(l.Items), l.Items[0].Name)
	}
	return nil
}

// TestAccKubernetes_multiNode: pipeline_parallel_size 2 spans nodes: a StatefulSet of one pod per
// stage, each on its own node with tensor_parallel_size GPUs, the Service on the leader; import;
// an engine change in place; the StatefulSet deleted out of band planned back. The pool is two
// 2-GPU nodes: the plan measures each stage (tensor_parallel_size GPUs) against a node, and the
// stages against the nodes that can take one, so three stages are refused at plan time.
func TestAccKubernetes_multiNode(t *testing.T) {
	t.Parallel()
	f := newK8sFixture(t, "k8s-pp", "NVIDIA-L40S", 46068, 2, 2)
	endpoint := acctest.TestName("pp")
	clusterID := "kubernetes/" + f.ns + "/" + f.name
	config := func(engine string) string {
		return f.provider(nil) + f.clusterBlock() + f.endpoint("test", endpoint, 1, "  engine = { "+engine+" }")
	}
	base := "tensor_parallel_size = 2, pipeline_parallel_size = 2"

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(f.checkDestroyed, f.statefulSetsLeft),
		Steps: []resource.TestStep{
			{
				Config: config(base),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("id"), knownvalue.StringExact(clusterID+","+endpoint)),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("url"), knownvalue.StringExact(fmt.Sprintf("http://%s.%s.svc:8000/v1", endpoint, f.ns))),
					statecheck.ExpectKnownValue(k8sEndpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
				},
				Check: f.checkMultiNode(endpoint),
			},
			{
				ResourceName: k8sEndpointAddr, ImportState: true, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"api_key", "timeouts", "model.revision", "force_remove_unreachable", "rollout"},
			},
			{
				Config:      config("tensor_parallel_size = 2, pipeline_parallel_size = 3"),
				PlanOnly:    true,
				ExpectError: errorLike("stages go on 3 different nodes with 2 GPUs each, but the cluster has 2 such node(s)"),
			},
			{
				Config:      config("tensor_parallel_size = 4, pipeline_parallel_size = 2"),
				PlanOnly:    true,
				ExpectError: errorLike("each pipeline stage takes tensor_parallel_size = 4 GPUs of one node"),
			},
			{
				Config: config(base + ", max_model_len = 8192"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(k8sEndpointAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(f.checkMultiNode(endpoint), func(*terraform.State) error {
					s, err := f.client().AppsV1().StatefulSets(f.ns).Get(context.Background(), endpoint+"-0", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if !strings.Contains(strings.Join(s.Spec.Template.Spec.Containers[0].Args, " "), "--max-model-len 8192") ||
						s.Status.CurrentRevision != s.Status.UpdateRevision || s.Status.UpdatedReplicas != 2 {
						return fmt.Errorf("the StatefulSet did not roll: revisions %s/%s, updated %d", s.Status.CurrentRevision,
							s.Status.UpdateRevision, s.Status.UpdatedReplicas)
					}
					return nil
				}),
			},
			{
				PreConfig: func() {
					if err := f.client().AppsV1().StatefulSets(f.ns).Delete(context.Background(), endpoint+"-0", metav1.DeleteOptions{}); err != nil {
						t.Fatalf("deleting the StatefulSet: %v", err)
					}
				},
				Config:             config(base + ", max_model_len = 8192"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config(base + ", max_model_len = 8192"),
				Check:  f.checkMultiNode(endpoint),
			},
		},
	})
}
