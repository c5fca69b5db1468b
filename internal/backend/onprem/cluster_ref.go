package onprem

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// ClusterRef is everything, but the SSH credential, needed to reach an on-prem cluster's hosts.
// It is the cluster's Terraform ID (EncodeClusterID), so that an inferstack_model_endpoint given
// only cluster_id can reach the hosts in any run, including an apply in which the cluster itself
// is not read, and including a CLI or workspace that has no local state of its own. The SSH
// private key is never part of it: it comes from the provider's onprem block.
type ClusterRef struct {
	Name     string `json:"n"`
	Runtime  string `json:"r,omitempty"` // "docker" (default) or "podman"
	Hosts    []Host `json:"-"`
	Bastion  *Host  `json:"-"`
	Insecure bool   `json:"i,omitempty"` // insecure_ignore_host_key
}

// refHost is a Host as stored in the ID: short keys keep IDs compact.
type refHost struct {
	Name    string            `json:"n"`
	Address string            `json:"a"`
	Port    int               `json:"p,omitempty"`
	User    string            `json:"u,omitempty"`
	HostKey string            `json:"k,omitempty"`
	Labels  map[string]string `json:"l,omitempty"`
}

type refJSON struct {
	ClusterRef
	Hosts   []refHost `json:"h"`
	Bastion *refHost  `json:"b,omitempty"`
}

// IDPrefix starts every on-prem cluster ID.
const IDPrefix = "onprem/"

var clusterNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateClusterName checks a cluster name: lower-case letters, digits and '-', at most 63.
func ValidateClusterName(name string) error {
	if !clusterNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid cluster name: use 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// EncodeClusterID turns a ref into the cluster's ID: "onprem/<name>/<base64url JSON>".
func EncodeClusterID(ref ClusterRef) string {
	rj := refJSON{ClusterRef: ref}
	for _, h := range ref.Hosts {
		rj.Hosts = append(rj.Hosts, toRefHost(h))
	}
	if ref.Bastion != nil {
		b := toRefHost(*ref.Bastion)
		rj.Bastion = &b
	}
	b, _ := json.Marshal(rj) // cannot fail: plain strings, ints and maps
	return IDPrefix + ref.Name + "/" + base64.RawURLEncoding.EncodeToString(b)
}

// DecodeClusterID parses an ID made by EncodeClusterID. Hosts come back with Via and
// InsecureIgnoreHostKey set from the cluster.
func DecodeClusterID(id string) (ClusterRef, error) {
	rest, ok := strings.CutPrefix(id, IDPrefix)
	name, blob, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return ClusterRef{}, fmt.Errorf("%q is not an on-prem cluster ID (onprem/<name>/<descriptor>): use inferstack_inference_cluster.<name>.id", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(blob)
	if err != nil {
		return ClusterRef{}, fmt.Errorf("on-prem cluster ID of %q is damaged: %w", name, err)
	}
	var rj refJSON
	if err := json.Unmarshal(raw, &rj); err != nil {
		return ClusterRef{}, fmt.Errorf("on-prem cluster ID of %q is damaged: %w", name, err)
	}
	if rj.Name != name {
		return ClusterRef{}, errors.New("on-prem cluster ID: the name does not match its descriptor")
	}
	ref := rj.ClusterRef
	if rj.Bastion != nil {
		b := fromRefHost(*rj.Bastion)
		b.InsecureIgnoreHostKey = ref.Insecure
		ref.Bastion = &b
	}
	for _, h := range rj.Hosts {
		host := fromRefHost(h)
		host.Via, host.InsecureIgnoreHostKey = ref.Bastion, ref.Insecure
		ref.Hosts = append(ref.Hosts, host)
	}
	return ref, nil
}

// ClusterName returns the name part of a cluster ID without decoding the rest.
func ClusterName(id string) string {
	rest, _ := strings.CutPrefix(id, IDPrefix)
	name, _, _ := strings.Cut(rest, "/")
	return name
}

func toRefHost(h Host) refHost {
	return refHost{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, HostKey: h.HostKey, Labels: h.Labels}
}

func fromRefHost(r refHost) Host {
	return Host{Name: r.Name, Address: r.Address, Port: r.Port, User: r.User, HostKey: r.HostKey, Labels: r.Labels}
}

// ParseEndpointID splits an ID made by EndpointID and decodes its cluster part.
func ParseEndpointID(id string) (ref ClusterRef, clusterID, name string, err error) {
	clusterID, name, ok := backend.SplitEndpointID(id)
	if !ok {
		return ClusterRef{}, "", "", fmt.Errorf("%q is not the id of an inferstack_model_endpoint (<cluster_id>%s<name>, "+
			"e.g. onprem/lab/eyJ...%sqwen-7b): use inferstack_model_endpoint.<name>.id", id, backend.EndpointIDSeparator, backend.EndpointIDSeparator)
	}
	ref, err = DecodeClusterID(clusterID)
	if err != nil {
		return ClusterRef{}, "", "", err
	}
	return ref, clusterID, name, nil
}
