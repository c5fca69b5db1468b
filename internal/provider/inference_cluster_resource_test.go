package provider_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/sshlab"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

const clusterAddr = "inferstack_inference_cluster.test"

func clusterConfig(lab *acctest.OnPremLab, name, hosts, extra string) string {
	return fmt.Sprintf(`
provider "inferstack" {
%s}

resource "inferstack_inference_cluster" "test" {
  name = %q
  onprem = {
    hosts = %s
%s
  }
}
`, lab.ProviderOnPremBlock(), name, hosts, extra)
}

// clusterRecordOn reports whether host holds the record of cluster name, asking over SSH.
func clusterRecordOn(h *sshlab.Host, name string) (bool, error) {
	out, err := h.Exec(fmt.Sprintf(`if [ -e "${INFERSTACK_ROOT:-}%s" ]; then echo yes; else echo no; fi`, onprem.ClusterRecordPath(name)))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) == "yes", nil
}

// checkClusterDestroyed asks each host over SSH that no record of cluster name remains.
func checkClusterDestroyed(name string, hosts ...*sshlab.Host) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var errs []error
		for _, h := range hosts {
			ok, err := clusterRecordOn(h, name)
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				errs = append(errs, fmt.Errorf("host %s still holds the record of cluster %s", h.Name, name))
			}
		}
		return errors.Join(errs...)
	}
}

func checkClusterRecords(name string, want bool, hosts ...*sshlab.Host) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, h := range hosts {
			ok, err := clusterRecordOn(h, name)
			if err != nil {
				return err
			}
			if ok != want {
				return fmt.Errorf("host %s: cluster record of %s present = %v, want %v", h.Name, name, ok, want)
			}
			if want {
				if _, err := h.Exec(`test -x "${INFERSTACK_ROOT:-}` + vllm.ScriptPath + `"`); err != nil {
					return fmt.Errorf("host %s: the node script is not installed: %w", h.Name, err)
				}
			}
		}
		return nil
	}
}

// expectedNodes is the nodes value the lab's hosts should report.
func expectedNodes(lab *acctest.OnPremLab, specs []sshlab.HostSpec, names ...string) knownvalue.Check {
	var nodes []knownvalue.Check
	for _, n := range names {
		var spec sshlab.HostSpec
		for _, s := range specs {
			if s.Name == n {
				spec = s
			}
		}
		var gpus []knownvalue.Check
		for i, g := range spec.GPUs {
			gpus = append(gpus, knownvalue.ObjectExact(map[string]knownvalue.Check{
				"index":      knownvalue.Int64Exact(int64(i)),
				"model":      knownvalue.StringExact(g.Model),
				"memory_mib": knownvalue.Int64Exact(int64(g.MemoryMiB)),
			}))
		}
		nodes = append(nodes, knownvalue.ObjectExact(map[string]knownvalue.Check{
			"name":           knownvalue.StringExact(n),
			"address":        knownvalue.StringExact(lab.Host(n).Address),
			"gpus":           knownvalue.ListExact(gpus),
			"driver_version": knownvalue.StringExact(sshlab.DefaultDriverVersion),
			"runtime_ok":     knownvalue.Bool(true),
			"toolkit_ok":     knownvalue.Bool(true),
		}))
	}
	return knownvalue.ListExact(nodes)
}

func smallHosts(names ...string) []sshlab.HostSpec {
	var specs []sshlab.HostSpec
	for _, n := range names {
		specs = append(specs, sshlab.HostSpec{Name: n, GPUs: []sshlab.GPU{{Model: "NVIDIA L4", MemoryMiB: 23034}, {Model: "NVIDIA L4", MemoryMiB: 23034}}})
	}
	return specs
}

func TestAccInferenceCluster_basic(t *testing.T) {
	t.Parallel()
	// A lab of its own: the shared hosts also carry other tests' endpoints, which (rightly)
	// block a cluster's destroy on a host it is the last cluster of.
	lab := acctest.NewOnPremLab(t, acctest.SharedOnPremHosts...)
	name := acctest.TestName("basic")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, lab.Hosts...),
		Steps: []resource.TestStep{
			{
				Config: clusterConfig(lab, name, lab.HostsHCL(), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^onprem/`+name+`/[A-Za-z0-9_-]+$`))),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^onprem/`+name+`/`))),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, acctest.SharedOnPremHosts, "gpu-a", "gpu-b", "gpu-c")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("container_runtime"), knownvalue.StringExact("docker")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("insecure_ignore_host_key"), knownvalue.Bool(false)),
				},
				Check: checkClusterRecords(name, true, lab.Hosts...),
			},
			{
				ResourceName:      clusterAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccInferenceCluster_update(t *testing.T) {
	t.Parallel()
	specs := smallHosts("upd-a", "upd-b", "upd-c")
	lab := acctest.NewOnPremLab(t, specs...)
	name := acctest.TestName("update")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, lab.Hosts...),
		Steps: []resource.TestStep{
			{
				Config: clusterConfig(lab, name, lab.HostsHCL("upd-a", "upd-b"), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "upd-a", "upd-b")),
				},
				Check: checkClusterRecords(name, true, lab.Host("upd-a"), lab.Host("upd-b")),
			},
			{
				Config: clusterConfig(lab, name, lab.HostsHCL("upd-a", "upd-b", "upd-c"), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "upd-a", "upd-b", "upd-c")),
				},
				Check: checkClusterRecords(name, true, lab.Hosts...),
			},
			{
				Config: clusterConfig(lab, name, lab.HostsHCL("upd-a"), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "upd-a")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkClusterRecords(name, true, lab.Host("upd-a")),
					checkClusterRecords(name, false, lab.Host("upd-b"), lab.Host("upd-c")),
				),
			},
		},
	})
}

func TestAccInferenceCluster_drift(t *testing.T) {
	t.Parallel()
	specs := smallHosts("drift-a")
	lab := acctest.NewOnPremLab(t, specs...)
	name := acctest.TestName("drift")
	config := clusterConfig(lab, name, lab.HostsHCL(), "")
	changed := []sshlab.GPU{{Model: "NVIDIA H100 80GB HBM3", MemoryMiB: 81559}}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, lab.Hosts...),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "drift-a")),
				},
			},
			{
				// A GPU swapped on the host shows in nodes after a refresh.
				PreConfig: func() {
					if err := lab.SetGPUs("drift-a", changed); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(clusterAddr, "onprem.nodes.#", "1"),
					resource.TestCheckResourceAttr(clusterAddr, "onprem.nodes.0.gpus.#", "1"),
					resource.TestCheckResourceAttr(clusterAddr, "onprem.nodes.0.gpus.0.model", changed[0].Model),
					resource.TestCheckResourceAttr(clusterAddr, "onprem.nodes.0.gpus.0.memory_mib", fmt.Sprint(changed[0].MemoryMiB)),
				),
			},
		},
	})
}

func TestAccInferenceCluster_disappears(t *testing.T) {
	t.Parallel()
	// A lab of its own: the shared hosts also carry other tests' endpoints, which (rightly)
	// block a cluster's destroy on a host it is the last cluster of.
	lab := acctest.NewOnPremLab(t, acctest.SharedOnPremHosts...)
	name := acctest.TestName("gone")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, lab.Hosts...),
		Steps: []resource.TestStep{
			{
				Config: clusterConfig(lab, name, lab.HostsHCL("gpu-a", "gpu-c"), ""),
				Check: func(*terraform.State) error {
					// Remove the cluster behind Terraform's back.
					for _, n := range []string{"gpu-a", "gpu-c"} {
						if _, err := lab.Host(n).Exec(`rm -f "${INFERSTACK_ROOT:-}` + onprem.ClusterRecordPath(name) + `"`); err != nil {
							return err
						}
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionCreate)},
				},
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccInferenceCluster_hostKeyMismatch(t *testing.T) {
	t.Parallel()
	lab := acctest.OnPrem(t)
	name := acctest.TestName("badkey")
	a, b := lab.Host("gpu-a"), lab.Host("gpu-b")
	hosts := fmt.Sprintf(`[
      { name = "gpu-a", address = %q, port = %d, host_key = %q },
    ]`, a.Address, a.Port, b.HostKey)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, a),
		Steps: []resource.TestStep{
			{
				Config:      clusterConfig(lab, name, hosts, ""),
				ExpectError: regexp.MustCompile(`host key mismatch:\s+host\s+gpu-a\s+\([^)]+\)\s+presented`),
			},
		},
	})
}

func TestAccInferenceCluster_missingHostKey(t *testing.T) {
	t.Parallel()
	lab := acctest.OnPrem(t)
	a := lab.Host("gpu-a")
	hosts := fmt.Sprintf(`[
      { name = "gpu-a", address = %q, port = %d },
    ]`, a.Address, a.Port)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		Steps: []resource.TestStep{
			{
				Config:      clusterConfig(lab, acctest.TestName("nokey"), hosts, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`onprem\.hosts\[0\]\.host_key:\s+host\s+gpu-a`),
			},
		},
	})
}

// TestAccInferenceCluster_insecure applies a host without host_key under
// insecure_ignore_host_key, and checks that validation warns about it.
func TestAccInferenceCluster_insecure(t *testing.T) {
	t.Parallel()
	// A lab of its own: the shared hosts also carry other tests' endpoints, which (rightly)
	// block a cluster's destroy on a host it is the last cluster of.
	lab := acctest.NewOnPremLab(t, acctest.SharedOnPremHosts...)
	name := acctest.TestName("insecure")
	c := lab.Host("gpu-c")
	hosts := fmt.Sprintf(`[
      { name = "gpu-c", address = %q, port = %d },
    ]`, c.Address, c.Port)

	// The CLIs print warnings but the test framework does not expose them: ask the provider.
	srv, err := acctest.ProviderFactories()[acctest.ProviderName]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateResourceConfig(context.Background(), &tfprotov6.ValidateResourceConfigRequest{
		TypeName: "inferstack_inference_cluster",
		Config: &tfprotov6.DynamicValue{JSON: []byte(fmt.Sprintf(`{"name": %q, "onprem": {"hosts": [{"name": "gpu-c", "address": %q, "port": %d}], "insecure_ignore_host_key": true}}`,
			name, c.Address, c.Port))},
	})
	if err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Fatalf("validation failed: %s: %s", d.Summary, d.Detail)
		}
		warned = warned || d.Severity == tfprotov6.DiagnosticSeverityWarning && strings.Contains(d.Summary, "host keys are not checked")
	}
	if !warned {
		t.Fatalf("insecure_ignore_host_key = true: no warning, got %+v", resp.Diagnostics)
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, c),
		Steps: []resource.TestStep{
			{
				Config: clusterConfig(lab, name, hosts, "    insecure_ignore_host_key = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, acctest.SharedOnPremHosts, "gpu-c")),
				},
				Check: checkClusterRecords(name, true, c),
			},
		},
	})
}

func TestAccInferenceCluster_unreachableHost(t *testing.T) {
	t.Parallel()
	specs := smallHosts("down-a", "down-b")
	lab := acctest.NewOnPremLab(t, specs...)
	name := acctest.TestName("down")
	config := clusterConfig(lab, name, lab.HostsHCL(), "")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		// down-b stays down: the destroy warns about it and leaves its record.
		CheckDestroy: checkClusterDestroyed(name, lab.Host("down-a")),
		Steps: []resource.TestStep{
			{Config: config},
			{
				// down-b is powered off: the refresh warns, keeps its last known node, and the plan is empty.
				PreConfig: func() {
					if err := lab.Host("down-b").Stop(); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "down-a", "down-b")),
				},
			},
		},
	})
}

func TestAccInferenceCluster_removeBusyHost(t *testing.T) {
	t.Parallel()
	specs := smallHosts("busy-a", "busy-b")
	lab := acctest.NewOnPremLab(t, specs...)
	name := acctest.TestName("busy")
	ledger := lab.Host("busy-b").Path("var/lib/inferstack/ledger.json")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             checkClusterDestroyed(name, lab.Hosts...),
		Steps: []resource.TestStep{
			{Config: clusterConfig(lab, name, lab.HostsHCL(), "")},
			{
				// An endpoint replica holds GPU 1 of busy-b, as the node script's ledger records it.
				PreConfig: func() {
					if err := os.WriteFile(ledger, []byte(`{"version":1,"allocations":[{"endpoint":"tf-acc-llama","replica":0,"gpus":[1],"port":8000}]}`+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config:      clusterConfig(lab, name, lab.HostsHCL("busy-a"), ""),
				ExpectError: regexp.MustCompile(`host\s+busy-b\s+still\s+serves\s+tf-acc-llama\s+replica\s+0`),
			},
			{
				// The replica is gone: the host leaves the cluster.
				PreConfig: func() {
					if err := os.Remove(ledger); err != nil {
						t.Fatal(err)
					}
				},
				Config: clusterConfig(lab, name, lab.HostsHCL("busy-a"), ""),
				Check:  checkClusterRecords(name, false, lab.Host("busy-b")),
			},
		},
	})
}

// throughBastion tells, from the sshd logs, whether hosts were reached only through bastion: on
// loopback they cannot refuse direct connections (see the sshlab package doc), so every login a
// host accepted since mark must be one the bastion forwarded to it.
type throughBastion struct {
	bastion *sshlab.Host
	hosts   []*sshlab.Host
	at      map[string][2]int // logins and forwards of each host, at mark
}

func newThroughBastion(t *testing.T, bastion *sshlab.Host, hosts ...*sshlab.Host) *throughBastion {
	t.Helper()
	w := &throughBastion{bastion: bastion, hosts: hosts}
	if err := w.mark(nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *throughBastion) route(h *sshlab.Host) ([2]int, error) {
	logins, err := h.Logins()
	if err != nil {
		return [2]int{}, err
	}
	forwards, err := w.bastion.Forwards(h)
	return [2]int{logins, forwards}, err
}

// mark takes the counts as they are now; the test's own SSH checks (direct logins) go before it.
func (w *throughBastion) mark(*terraform.State) error {
	w.at = map[string][2]int{}
	for _, h := range w.hosts {
		r, err := w.route(h)
		if err != nil {
			return err
		}
		w.at[h.Name] = r
	}
	return nil
}

// check fails unless every host was reached since mark, and only through the bastion.
func (w *throughBastion) check(*terraform.State) error {
	for _, h := range w.hosts {
		r, err := w.route(h)
		if err != nil {
			return err
		}
		logins, forwards := r[0]-w.at[h.Name][0], r[1]-w.at[h.Name][1]
		if forwards == 0 {
			return fmt.Errorf("the bastion forwarded no connection to host %s", h.Name)
		}
		if logins != forwards {
			return fmt.Errorf("host %s accepted %d login(s), the bastion forwarded %d connection(s) to it", h.Name, logins, forwards)
		}
	}
	return nil
}

// untouched fails if a host was reached at all since mark.
func (w *throughBastion) untouched(*terraform.State) error {
	for _, h := range w.hosts {
		r, err := w.route(h)
		if err != nil {
			return err
		}
		if r != w.at[h.Name] {
			return fmt.Errorf("host %s was reached: %d login(s), %d forward(s) to it", h.Name, r[0]-w.at[h.Name][0], r[1]-w.at[h.Name][1])
		}
	}
	return nil
}

// TestAccInferenceCluster_bastion reaches the hosts only through a bastion (onprem.bastion, SSH
// ProxyJump): a wrong bastion host key is refused before any host is reached; with the right
// one the cluster discovers the GPUs behind it, an endpoint is deployed and answers, the ID
// round-trips the bastion (import), and the destroy goes through it too.
func TestAccInferenceCluster_bastion(t *testing.T) {
	t.Parallel()
	specs := append([]sshlab.HostSpec{{Name: "jump", Bastion: true}}, smallHosts("bas-a", "bas-b")...)
	lab := acctest.NewOnPremLab(t, specs...)
	jump, a, b := lab.Host("jump"), lab.Host("bas-a"), lab.Host("bas-b")
	via := newThroughBastion(t, jump, a, b)

	cluster := func(name, bastion string) string {
		return fmt.Sprintf(`
resource "inferstack_inference_cluster" "test" {
  name   = %q
  onprem = {
    hosts = %s
%s  }
}
`, name, lab.HostsHCL(), bastion)
	}

	// The bastion pinned to bas-a's key: refused at the bastion, naming it; no host is reached.
	// (The failed create leaves a tainted cluster whose ID holds the wrong key, which the next
	// refresh would fail on: a test case of its own.)
	bad := acctest.TestName("badjump")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		CheckDestroy:             resource.ComposeTestCheckFunc(via.untouched, checkClusterDestroyed(bad, a, b)),
		Steps: []resource.TestStep{{
			Config: endpointProvider(lab) + cluster(bad, strings.Replace(lab.BastionHCL("jump"), jump.HostKey, a.HostKey, 1)),
			ExpectError: regexp.MustCompile(`host\s+bas-a:\s+through\s+bastion\s+bastion:[^\n]*\s+host\s+key\s+mismatch:\s+host\s+bastion\s+\(` +
				regexp.QuoteMeta(jump.Address)),
		}},
	})
	if err := via.mark(nil); err != nil {
		t.Fatal(err)
	}

	name := acctest.TestName("bastion")
	endpoint := acctest.TestName("jumped")
	endpointAddr := "inferstack_model_endpoint.test"
	config := endpointProvider(lab) + cluster(name, lab.BastionHCL("jump")) + fmt.Sprintf(`
resource "inferstack_model_endpoint" "test" {
  cluster_id = inferstack_inference_cluster.test.id
  name       = %q
  model      = { id = "Qwen/Qwen2.5-7B-Instruct" }
  api_key    = %q
}
`, endpoint, endpointAPIKey)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories(),
		// The logs first: the checks after it log in directly.
		CheckDestroy: resource.ComposeTestCheckFunc(
			via.check,
			checkClusterDestroyed(name, a, b),
			checkEndpointDestroyed(lab, endpoint),
		),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("nodes"), expectedNodes(lab, specs, "bas-a", "bas-b")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("onprem").AtMapKey("bastion"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"address":  knownvalue.StringExact(jump.Address),
						"port":     knownvalue.Int64Exact(int64(jump.Port)),
						"user":     knownvalue.StringExact("root"),
						"host_key": knownvalue.StringExact(jump.HostKey),
					})),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("status"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("placements").AtSliceIndex(0).AtMapKey("host"),
						knownvalue.StringRegexp(regexp.MustCompile(`^bas-[ab]$`))),
				},
				// The logs first again; mark counts the direct logins of the checks after it.
				Check: resource.ComposeTestCheckFunc(
					via.check,
					checkClusterRecords(name, true, a, b),
					checkChat(endpointAddr),
					via.mark,
				),
			},
			{
				// The ID carries the bastion: an import reaches the hosts through it.
				ResourceName:      clusterAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
		},
	})
}
