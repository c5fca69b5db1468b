package onprem

import (
	"reflect"
	"strings"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

func TestClusterIDRoundTrip(t *testing.T) {
	t.Parallel()
	bastion := Host{Name: "jump", Address: "203.0.113.5", Port: 2222, User: "ops", HostKey: testHostKey(1)}
	ref := ClusterRef{
		Name: "lab", Runtime: "podman", Insecure: false, Bastion: &bastion,
		Hosts: []Host{
			{Name: "gpu-a", Address: "10.0.0.11", Port: 22, User: "ops", HostKey: testHostKey(2), Labels: map[string]string{"rack": "r1"}},
			{Name: "gpu-b", Address: "10.0.0.12", HostKey: testHostKey(3)},
		},
	}
	id := EncodeClusterID(ref)
	if !strings.HasPrefix(id, "onprem/lab/") || ClusterName(id) != "lab" {
		t.Fatalf("id = %q", id)
	}
	got, err := DecodeClusterID(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "lab" || got.Runtime != "podman" || len(got.Hosts) != 2 || got.Bastion == nil || !reflect.DeepEqual(*got.Bastion, bastion) {
		t.Fatalf("decoded %+v", got)
	}
	want := ref.Hosts[0]
	want.Via = got.Bastion
	if !reflect.DeepEqual(got.Hosts[0], want) {
		t.Errorf("host 0 = %+v, want %+v", got.Hosts[0], want)
	}
	if EncodeClusterID(got) != id {
		t.Error("encoding is not stable across a round trip")
	}
}

func TestDecodeClusterIDErrors(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "lab", "onprem/lab", "onprem/lab/!!!", "onprem/lab/e30", EncodeClusterID(ClusterRef{Name: "other"})[:7] + "lab/" + strings.SplitN(EncodeClusterID(ClusterRef{Name: "other"}), "/", 3)[2]} {
		if _, err := DecodeClusterID(id); err == nil {
			t.Errorf("DecodeClusterID(%q) accepted a bad ID", id)
		}
	}
	if err := ValidateClusterName("Lab_1"); err == nil {
		t.Error("an invalid name was accepted")
	}
}

func TestEndpointIDRoundTrip(t *testing.T) {
	t.Parallel()
	clusterID := EncodeClusterID(ClusterRef{Name: "lab", Hosts: []Host{{Name: "gpu-a", Address: "10.0.0.11", HostKey: testHostKey(2)}}})
	ref, gotCluster, name, err := ParseEndpointID(backend.EndpointID(clusterID, "qwen-7b"))
	if err != nil || gotCluster != clusterID || name != "qwen-7b" || ref.Name != "lab" || len(ref.Hosts) != 1 {
		t.Fatalf("ParseEndpointID = %+v, %q, %q, %v", ref, gotCluster, name, err)
	}
	for _, bad := range []string{"lab/qwen", clusterID + ",", "onprem/lab/!!!,qwen"} {
		if _, _, _, err := ParseEndpointID(bad); err == nil {
			t.Errorf("ParseEndpointID(%q) accepted a bad ID", bad)
		}
	}
}
