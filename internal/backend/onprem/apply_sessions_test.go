package onprem_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend/onprem"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// TestApplySessions counts, on the hosts' sshd logs, the SSH sessions of one apply of an endpoint
// with a route, as one Terraform run makes them through the registry's cache (issue 16):
//
//   - a plan's read of a cluster not registered yet and of its GPUs: one session per host;
//   - the cluster's read and GPUs after its registration in the same run ask no host;
//   - each host's report (GPUs, what endpoints left there) checks the node script's version in
//     the same session (the cluster was registered by an earlier run): one session per host;
//   - the host the replica is placed on gets one session: its secret files (API key, Hub token)
//     and the node script's apply, the secrets on stdin;
//   - the endpoint's read and its route's target after the deploy ask no host: the deploy
//     waited for readiness and wrote the spec and key itself;
//   - a second apply in the same run reads again only the host whose ledger it wrote.
//
// The secret files are written root-only with the values sent, an empty Hub token removes its
// file, and a value that cannot be an env file line is refused before any host is asked.
func TestApplySessions(t *testing.T) {
	t.Parallel()
	lab, ref, sessions := labCluster(t, "sessions", 2, "s1", "s2", "s3")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg := backend.NewRegistry(onprem.NewBackend(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM}))
	b, _ := reg.ByName(onprem.Name)
	clusterID := onprem.EncodeClusterID(ref)
	const apiKey, hfToken = "sk-sessions-0123456789", "hf_sessions0123456789"
	spec := backend.EndpointSpec{ClusterID: clusterID, Name: "ep", Replicas: 1, MaxUnavailable: 1, APIKey: apiKey, HFToken: hfToken,
		Node: vllm.Spec{Endpoint: "ep", Model: vllm.Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: strings.Repeat("a", 40)},
			ServedModelName: "served-ep", ReadyTimeout: 60 * time.Second}}

	// A plan of the cluster before it exists: the endpoint's checks ask for its GPUs, which the
	// cache asks of the cluster's read (not found) and then of the backend: one session per host
	// for both.
	planned, _ := backend.NewRegistry(onprem.NewBackend(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})).ByName(onprem.Name)
	sp := sessions()
	if capa, err := planned.(backend.CapacityReader).ClusterCapacity(ctx, clusterID); err != nil || capa == nil || capa.TotalGPUs != 6 {
		t.Errorf("ClusterCapacity before the registration: %+v, %v", capa, err)
	}
	if got, want := sessions()-sp, len(lab.Hosts); got != want {
		t.Errorf("%d SSH sessions to plan an endpoint on a cluster not registered yet, want %d (one per host)", got, want)
	}

	// The cluster is registered by an earlier run (a provider of its own), whose endpoints' plans
	// at apply then read the cluster and its GPUs without asking the hosts again.
	earlier, _ := backend.NewRegistry(onprem.NewBackend(onprem.SSHConfig{PrivateKey: lab.UserPrivateKeyPEM})).ByName(onprem.Name)
	if _, err := earlier.EnsureCluster(ctx, "", backend.ClusterSpec{Name: ref.Name, Settings: &ref}); err != nil {
		t.Fatal(err)
	}
	sr := sessions()
	if c, err := earlier.FindCluster(ctx, clusterID); err != nil || len(c.Details.(*onprem.ClusterView).Nodes) != len(lab.Hosts) {
		t.Errorf("FindCluster after the registration: %+v, %v", c, err)
	}
	if capa, err := earlier.(backend.CapacityReader).ClusterCapacity(ctx, clusterID); err != nil || capa == nil || capa.TotalGPUs != 6 {
		t.Errorf("ClusterCapacity after the registration: %+v, %v", capa, err)
	}
	if got := sessions() - sr; got != 0 {
		t.Errorf("%d SSH sessions to read a cluster registered in the same run, want 0", got)
	}

	s0 := sessions()
	bad := spec
	bad.Name, bad.Node.Endpoint, bad.APIKey = "bad", "bad", "sk-bad\nEXTRA=1"
	if _, err := b.EnsureEndpoint(ctx, bad); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("an API key with a line break: %v, want refused for its control character", err)
	}
	if got := sessions() - s0; got != 0 {
		t.Errorf("%d SSH sessions for an endpoint refused for its API key, want 0", got)
	}
	e, err := b.EnsureEndpoint(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Replicas) != 1 || !e.Replicas[0].Ready {
		t.Fatalf("want one ready replica, got %+v", e.Replicas)
	}
	host := lab.Host(e.Replicas[0].Host)
	if got, want := sessions()-s0, len(lab.Hosts)+1; got != want {
		t.Errorf("%d SSH sessions to deploy one endpoint on %d hosts, want %d (a report per host with the script's version, one converge with the secrets)",
			got, len(lab.Hosts), want)
	}
	for env, want := range map[string]string{"VLLM_API_KEY": apiKey, "HF_TOKEN": hfToken} {
		p := host.Path(vllm.SecretFilePath("ep", env))
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("secret file %s: %v, %v", env, st, err)
		}
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("secret file %s holds %d bytes, not the value sent", env, len(got))
		}
	}

	s1 := sessions()
	for range 2 { // the route's plan and create
		tg, err := b.EndpointTarget(ctx, clusterID, "ep")
		if err != nil || tg.Ready != 1 || len(tg.URLs) != 1 || tg.URLs[0] != e.Replicas[0].URL || tg.ServedModelName != "served-ep" ||
			tg.APIKey != apiKey || len(tg.Unreachable) != 0 {
			t.Errorf("EndpointTarget after the deploy: %+v, %v", tg, err)
		}
	}
	if found, err := b.FindEndpoint(ctx, clusterID, "ep"); err != nil || len(found.Replicas) != 1 || found.Replicas[0].URL != e.Replicas[0].URL {
		t.Errorf("FindEndpoint after the deploy: %+v, %v", found, err)
	}
	if got := sessions() - s1; got != 0 {
		t.Errorf("%d SSH sessions for the endpoint's read and its route's target after its deploy in the same run, want 0", got)
	}

	// The same endpoint again without a Hub token: its file goes; the hosts not written keep
	// their reports.
	spec.HFToken = ""
	s2 := sessions()
	if _, err := b.EnsureEndpoint(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if got, want := sessions()-s2, 2; got != want {
		t.Errorf("%d SSH sessions for a second apply in the same run, want %d (the written host's report, its converge)", got, want)
	}
	if _, err := os.Stat(host.Path(vllm.SecretFilePath("ep", "HF_TOKEN"))); !os.IsNotExist(err) {
		t.Errorf("the Hub token's file after an apply without one: %v, want it removed", err)
	}

	// Deleted: the next read asks the hosts again and finds nothing.
	if _, err := b.DeleteEndpoint(ctx, clusterID, "ep", backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EndpointTarget(ctx, clusterID, "ep"); !backend.IsNotFound(err) {
		t.Errorf("EndpointTarget after the delete: %v, want not found", err)
	}
}
