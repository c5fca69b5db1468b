package azure_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest/azurefake"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	azurebackend "github.com/inferstack/terraform-provider-inferstack/internal/backend/azure"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

const testSub = "00000000-0000-0000-0000-000000000000"

type lab struct {
	cloud  *azurefake.Cloud
	b      *azurebackend.Backend
	l      *azurebackend.Lifecycle
	subnet string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	cloud := azurefake.New(azurefake.Options{SubscriptionID: testSub})
	cloud.AddResourceGroup("rg-llm", "westeurope")
	subnets := cloud.AddVirtualNetwork("rg-llm", "vnet", "westeurope", []string{"10.20.0.0/16"}, map[string]string{"gpu": "10.20.1.0/24"})
	b := azurebackend.New(azurebackend.Config{
		SubscriptionID: testSub, TenantID: cloud.TenantID(), DefaultTags: map[string]string{"team": "ml"},
		TestHooks: &azurebackend.TestHooks{Transport: cloud.Transport(), Credential: cloud.Credential(), PollFrequency: time.Millisecond},
	})
	return &lab{cloud: cloud, b: b, l: azurebackend.NewLifecycle(b), subnet: subnets["gpu"]}
}

func (l *lab) clusterSpec(name string) backend.ClusterSpec {
	return backend.ClusterSpec{Name: name, Settings: &azurebackend.ClusterSpec{
		ResourceGroup: "rg-llm", Location: "westeurope", SubnetID: l.subnet, VMSize: "Standard_NC24ads_A100_v4",
		Zones: []string{"1", "2"}, MaxNodes: 3, TrustedLaunch: true,
	}}
}

func nodeSpec(name, served string) vllm.Spec {
	return vllm.Spec{
		Endpoint: name, Model: vllm.Model{ID: "Qwen/Qwen2.5-0.5B-Instruct", Revision: strings.Repeat("a", 40)}, ServedModelName: served,
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestClusterAndEndpointLifecycle(t *testing.T) {
	l := newLab(t)
	ctx := ctxT(t)
	spec := l.clusterSpec("llm-eu")
	plan, err := l.l.PlanCluster(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	pf := plan.Facts.(*azurebackend.Preflight)
	if pf.GPU.GPUCount != 1 || pf.GPU.GPUModel != "A100 80GB" || len(pf.Quotas) != 2 {
		t.Fatalf("preflight: %+v", pf)
	}
	id := plan.ID
	if want := "azure/" + testSub + "/rg-llm/llm-eu"; id != want {
		t.Fatalf("id %s, want %s", id, want)
	}
	c, err := l.l.EnsureCluster(ctx, id, spec)
	if err != nil {
		t.Fatal(err)
	}
	ac := c.Details.(*azurebackend.Cluster)
	if ac.PrivateIP == "" || ac.VaultURI == "" || ac.IdentityClientID == "" {
		t.Fatalf("cluster: %+v", ac)
	}
	// What Azure holds: the NSG admits the VNet's space on 8000, denies the internet; the LB is
	// internal Standard; the identity reads only this vault's secrets.
	nsg, ok := l.cloud.Get(ac.SecurityGroupID)
	if !ok {
		t.Fatal("no nsg")
	}
	rules := jsonPath(nsg, "properties", "securityRules").([]any)
	var serving, denyInternet bool
	for _, r := range rules {
		p := r.(map[string]any)["properties"].(map[string]any)
		if r.(map[string]any)["name"] == "inferstack-serving" {
			serving = slices.Equal(anyStrings(p["sourceAddressPrefixes"]), []string{"10.20.0.0/16"}) && slices.Equal(anyStrings(p["destinationPortRanges"]), []string{"8000"})
		}
		if p["sourceAddressPrefix"] == "Internet" && p["access"] == "Deny" {
			denyInternet = true
		}
	}
	if !serving || !denyInternet {
		t.Fatalf("nsg rules: %v", rules)
	}
	lbObj, _ := l.cloud.Get(ac.LoadBalancerID)
	if jsonPath(lbObj, "sku", "name") != "Standard" || jsonPath(lbObj, "tags", "team") != "ml" || jsonPath(lbObj, "tags", azurebackend.TagCluster) != "llm-eu" {
		t.Fatalf("load balancer: %v", lbObj)
	}
	roles := 0
	for _, r := range l.cloud.Resources() {
		if strings.Contains(strings.ToLower(r), "/roleassignments/") {
			roles++
			if !strings.HasPrefix(strings.ToLower(r), strings.ToLower(ac.VaultID)+"/") {
				t.Fatalf("role assignment outside the vault: %s", r)
			}
		}
	}
	if roles != 1 {
		t.Fatalf("%d role assignments", roles)
	}

	// Ensure again: nothing new.
	before := len(l.cloud.Resources())
	if _, err := l.l.EnsureCluster(ctx, id, spec); err != nil {
		t.Fatal(err)
	}
	if after := len(l.cloud.Resources()); after != before {
		t.Fatalf("a second ensure made %d objects more", after-before)
	}

	// An endpoint.
	es := backend.EndpointSpec{ClusterID: id, Name: "chat", Node: nodeSpec("chat", "chat"), Replicas: 2, APIKey: "sk-first-key-0123456789", HFToken: "hf_tok"}
	e, err := l.l.EnsureEndpoint(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	if e.URL != "http://"+ac.PrivateIP+":8000/v1" {
		t.Fatalf("url %q", e.URL)
	}
	e, err = l.l.WaitEndpointReady(ctx, id, "chat")
	if err != nil || e.Status != backend.StatusReady {
		t.Fatalf("wait: %v %+v", err, e)
	}
	d := e.Details.(*azurebackend.Endpoint)
	vmss, _ := l.cloud.Get(d.ScaleSetID)
	custom := jsonPath(vmss, "properties", "virtualMachineProfile", "osProfile", "customData").(string)
	raw, _ := base64.StdEncoding.DecodeString(custom)
	text, err := vllm.ReadUserData(raw)
	if err != nil || !strings.HasPrefix(text, "#cloud-config") {
		t.Fatalf("custom data is not gzip cloud-init: %v", err)
	}
	specJSON, err := vllm.SpecFromCloudInit(text, "chat")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sk-first-key", "hf_tok"} {
		if strings.Contains(text, secret) || strings.Contains(string(specJSON), secret) {
			t.Fatalf("custom data holds a secret %q", secret)
		}
	}
	if !strings.Contains(string(specJSON), ".vault.azure.net/secrets/chat-api-key/") || !strings.Contains(string(specJSON), ac.IdentityClientID) {
		t.Fatalf("the node does not read its key from the vault with the cluster's identity:\n%s", specJSON)
	}
	if jsonPath(vmss, "properties", "orchestrationMode") != "Flexible" || jsonPath(vmss, "properties", "upgradePolicy", "mode") != "Rolling" {
		t.Fatalf("scale set: %v", vmss["properties"])
	}
	if jsonPath(vmss, "properties", "virtualMachineProfile", "securityProfile", "securityType") != "TrustedLaunch" {
		t.Fatalf("no trusted launch: %v", jsonPath(vmss, "properties", "virtualMachineProfile", "securityProfile"))
	}
	tgt, err := l.l.EndpointTarget(ctx, id, "chat")
	if err != nil || tgt.APIKey != "sk-first-key-0123456789" || tgt.ServedModelName != "chat" || tgt.URLs[0] != e.URL {
		t.Fatalf("target: %v %+v", err, tgt)
	}
	applied, _, err := l.l.EndpointSpec(ctx, id, "chat")
	if err != nil || applied.Model != "Qwen/Qwen2.5-0.5B-Instruct" {
		t.Fatalf("applied: %v %+v", err, applied)
	}

	// Ensure again with nothing changed: the scale set is not written.
	writes := countWrites(l.cloud, "virtualMachineScaleSets")
	if _, err := l.l.EnsureEndpoint(ctx, es); err != nil {
		t.Fatal(err)
	}
	if n := countWrites(l.cloud, "virtualMachineScaleSets"); n != writes {
		t.Fatalf("an unchanged endpoint wrote its scale set %d times", n-writes)
	}

	// A change rolls, in batches.
	es.Replicas = 3
	es.Node = nodeSpec("chat", "chat-v2")
	if _, err := l.l.EnsureEndpoint(ctx, es); err != nil {
		t.Fatal(err)
	}
	if _, err := l.l.WaitEndpointReady(ctx, id, "chat"); err != nil {
		t.Fatal(err)
	}
	if n := l.cloud.MaxReplacedAtOnce(d.ScaleSetID); n < 1 || n > 1 {
		t.Fatalf("the roll replaced %d nodes at once; 20%% of 3 is one", n)
	}
	for _, vm := range l.cloud.VMs(d.ScaleSetID) {
		if !vm.Latest {
			t.Fatalf("vm %s runs an old model", vm.Name)
		}
	}
	tgt, err = l.l.EndpointTarget(ctx, id, "chat")
	if err != nil || tgt.ServedModelName != "chat-v2" {
		t.Fatalf("target after roll: %v %+v", err, tgt)
	}

	// The cluster refuses to go while the endpoint exists.
	if _, err := l.l.DeleteCluster(ctx, id); err == nil || !strings.Contains(err.Error(), "chat") {
		t.Fatalf("delete with endpoints: %v", err)
	}
	if _, err := l.l.DeleteEndpoint(ctx, id, "chat", backend.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.l.FindEndpoint(ctx, id, "chat"); !backend.IsNotFound(err) {
		t.Fatalf("endpoint after delete: %v", err)
	}
	if _, err := l.l.DeleteCluster(ctx, id); err != nil {
		t.Fatal(err)
	}
	if left := l.cloud.Resources(); len(left) > 0 {
		// The seeded resource group and network stay.
		for _, r := range left {
			lr := strings.ToLower(r)
			if !strings.HasSuffix(lr, "/resourcegroups/rg-llm") && !strings.Contains(lr, "/virtualnetworks/vnet") {
				t.Errorf("left after destroy: %s", r)
			}
		}
	}
	if _, err := l.l.FindCluster(ctx, id); !backend.IsNotFound(err) {
		t.Fatalf("cluster after delete: %v", err)
	}
}

func TestPreflightRefusals(t *testing.T) {
	l := newLab(t)
	ctx := ctxT(t)
	cases := []struct {
		name   string
		change func(*azurebackend.ClusterSpec)
		attr   string
		want   string
	}{
		{"cpu size", func(s *azurebackend.ClusterSpec) { s.VMSize, s.Location, s.Zones = "Standard_D4s_v5", "eastus", nil }, "vm_size", "has no GPU"},
		{"not offered", func(s *azurebackend.ClusterSpec) { s.VMSize = "Standard_NC99_nope" }, "vm_size", "not offered in westeurope"},
		{"bad zone", func(s *azurebackend.ClusterSpec) { s.Zones = []string{"7"} }, "zones[0]", "not offered in zone 7"},
		{"quota", func(s *azurebackend.ClusterSpec) { s.MaxNodes = 20 }, "max_nodes", "need 480 vCPUs"},
		{"bad subnet", func(s *azurebackend.ClusterSpec) { s.SubnetID = "subnet-1" }, "subnet_id", "is not a subnet ID"},
		{"open internet", func(s *azurebackend.ClusterSpec) { s.AllowedCIDRs = []string{"0.0.0.0/0"} }, "allowed_cidrs[0]", "internet"},
	}
	l.cloud.SetUsage("westeurope", "standardNCADSA100v4Family", 0, 200)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := l.clusterSpec("llm-eu")
			tc.change(spec.Settings.(*azurebackend.ClusterSpec))
			_, err := l.l.PlanCluster(ctx, spec, nil)
			ies := backend.InputErrors(err)
			if len(ies) == 0 || ies[0].Attribute != tc.attr || !strings.Contains(ies[0].Detail, tc.want) {
				t.Fatalf("got %v, want %s: %s", err, tc.attr, tc.want)
			}
		})
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	l := newLab(t)
	ctx := ctxT(t)
	l.cloud.Inject(azurefake.Fault{Method: "PUT", PathContains: "networkSecurityGroups", Status: 429, RetryAfter: "0", Times: 2})
	l.cloud.Inject(azurefake.Fault{Method: "GET", PathContains: "resourceGroups/rg-llm/providers/Microsoft.ManagedIdentity", Status: 503, Times: 1})
	spec := l.clusterSpec("llm-eu")
	id, _ := l.l.ClusterID(ctx, spec)
	if _, err := l.l.EnsureCluster(ctx, id, spec); err != nil {
		t.Fatal(err)
	}
	puts := 0
	for _, r := range l.cloud.Requests() {
		if r.Method == "PUT" && strings.Contains(r.Path, "networkSecurityGroups") {
			puts++
		}
	}
	if puts != 3 {
		t.Fatalf("%d PUTs of the NSG, want 3 (two throttled)", puts)
	}
}

func TestEndpointDisappearsAndUnhealthy(t *testing.T) {
	l := newLab(t)
	ctx := ctxT(t)
	spec := l.clusterSpec("llm-eu")
	id, _ := l.l.ClusterID(ctx, spec)
	if _, err := l.l.EnsureCluster(ctx, id, spec); err != nil {
		t.Fatal(err)
	}
	es := backend.EndpointSpec{ClusterID: id, Name: "chat", Node: nodeSpec("chat", "chat"), Replicas: 2, APIKey: "sk-0123456789abcdef"}
	e, err := l.l.EnsureEndpoint(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	ssID := e.Details.(*azurebackend.Endpoint).ScaleSetID
	l.cloud.SetUnhealthy(ssID, 1)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	got, err := l.l.WaitEndpointReady(short, id, "chat")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 nodes healthy") || got == nil || got.Status != backend.StatusDegraded {
		t.Fatalf("wait with an unhealthy node: %v %+v", err, got)
	}
	l.cloud.SetUnhealthy(ssID, 0)
	if !l.cloud.DeleteOutOfBand(ssID) {
		t.Fatal("scale set not deleted")
	}
	if _, err := l.l.FindEndpoint(ctx, id, "chat"); !backend.IsNotFound(err) {
		t.Fatalf("after out-of-band delete: %v", err)
	}
	if _, err := l.l.EnsureEndpoint(ctx, es); err != nil {
		t.Fatal(err)
	}
	if _, err := l.l.WaitEndpointReady(ctx, id, "chat"); err != nil {
		t.Fatal(err)
	}
	// A crafted ID never reaches Azure.
	n := len(l.cloud.Requests())
	if _, err := l.l.FindCluster(ctx, "azure/"+testSub+"/rg-llm/../x"); err == nil {
		t.Fatal("crafted id accepted")
	}
	if len(l.cloud.Requests()) != n {
		t.Fatal("a crafted id made a request")
	}
}

func countWrites(c *azurefake.Cloud, kind string) int {
	n := 0
	for _, r := range c.Requests() {
		if (r.Method == "PUT" || r.Method == "PATCH") && strings.Contains(r.Path, "/"+kind+"/") {
			n++
		}
	}
	return n
}

func jsonPath(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestAutoscalingBounds: with autoscaling the capacity a scaling rule of the user's own set is
// kept within the bounds, not reset to replicas; outside them it is brought back.
func TestAutoscalingBounds(t *testing.T) {
	l := newLab(t)
	ctx := ctxT(t)
	spec := l.clusterSpec("llm-eu")
	id, _ := l.l.ClusterID(ctx, spec)
	if _, err := l.l.EnsureCluster(ctx, id, spec); err != nil {
		t.Fatal(err)
	}
	es := backend.EndpointSpec{ClusterID: id, Name: "chat", Node: nodeSpec("chat", "chat"), Replicas: 2, MinReplicas: 1, MaxReplicas: 3, APIKey: "sk-0123456789abcdef"}
	e, err := l.l.EnsureEndpoint(ctx, es)
	if err != nil || e.Desired != 2 || e.Min != 1 || e.Max != 3 {
		t.Fatalf("create: %v %+v", err, e)
	}
	es.Replicas = 1 // the rule moved it to 2; replicas is only where it started
	if e, err = l.l.EnsureEndpoint(ctx, es); err != nil || e.Desired != 2 {
		t.Fatalf("within bounds: %v, capacity %d, want 2 kept", err, e.Desired)
	}
	es.MaxReplicas = 1
	if e, err = l.l.EnsureEndpoint(ctx, es); err != nil || e.Desired != 1 || e.Max != 1 {
		t.Fatalf("bounds lowered: %v %+v, want capacity 1", err, e)
	}
	es.MaxReplicas = 5 // more than the cluster's max_nodes (3)
	if _, err = l.l.EnsureEndpoint(ctx, es); err == nil || !strings.Contains(err.Error(), "max_nodes (3)") {
		t.Fatalf("above max_nodes: %v", err)
	}
}
