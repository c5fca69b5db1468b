package onprem

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
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
	// AllowPublicListen lets replicas publish their port on a host whose address is globally
	// routable (onprem.allow_public_listen). Replicas listen on the host's SSH address, and
	// vLLM's API key (VLLM_API_KEY) guards only the /v1 routes: /invocations, /tokenize,
	// /detokenize, /pooling, /classify, /score, /rerank, /metrics, /health, /ping, /version and
	// the server's other routes answer anyone who reaches the port, and a key sent over plain
	// HTTP can be read on the way. So CheckRef refuses a public host address unless this is set;
	// set it only when a firewall in front of the hosts admits just the gateway. Encoded in the
	// ID only when true, so existing IDs do not change.
	AllowPublicListen bool `json:"pl,omitempty"`
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
	if !clusterNameRE.MatchString(name) {
		return ClusterRef{}, fmt.Errorf("on-prem cluster ID: %q is not a valid cluster name", name)
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
	// Every part is checked before any connection: a host's address, port and user reach the
	// SSH dial, its labels and name the remote commands and records.
	if err := checkRefSyntax(ref); err != nil {
		return ClusterRef{}, fmt.Errorf("on-prem cluster ID of %q: %w", name, err)
	}
	return ref, nil
}

// CheckImportedRef is what an import adds to DecodeClusterID and ParseEndpointID: an ID typed
// by hand (or pasted from elsewhere) must not switch host-key checking off, as nothing in the
// configuration said so yet. Import a cluster with its host keys pinned (host_key or the
// provider's known_hosts), then set insecure_ignore_host_key in the configuration if you must:
// the plan warns about it there.
func CheckImportedRef(ref ClusterRef) error {
	if ref.Insecure {
		return errors.New("the ID's descriptor turns host-key checking off (insecure_ignore_host_key), which an import " +
			"never does silently: pin the hosts' keys (onprem.hosts[*].host_key or the provider's known_hosts) and import " +
			"an ID made without it, or create the resource from a configuration that sets insecure_ignore_host_key")
	}
	return nil
}

var (
	hostNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	userRE      = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	dnsNameRE   = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	labelKeyRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$`)
	labelSafeRE = regexp.MustCompile(`^[A-Za-z0-9._:/=+@-]{0,256}$`)
)

// checkHostSyntax checks what a host's fields may hold at all, wherever they come from (the
// configuration or an ID): attr names the host ("onprem.hosts[0]", "onprem.bastion").
func checkHostSyntax(h Host, attr string, dnsOK bool) error {
	if !hostNameRE.MatchString(h.Name) {
		return fmt.Errorf("%s.name: %q must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", attr, h.Name)
	}
	if a, err := netip.ParseAddr(h.Address); err != nil || a.Zone() != "" {
		if !dnsOK || !dnsNameRE.MatchString(h.Address) || len(h.Address) > 253 {
			return fmt.Errorf("%s.address: %q is not an IP address", attr, h.Address)
		}
	}
	if h.Port < 0 || h.Port > 65535 {
		return fmt.Errorf("%s.port: %d is not a port (1 to 65535)", attr, h.Port)
	}
	if h.User != "" && !userRE.MatchString(h.User) {
		return fmt.Errorf("%s.user: %q is not a user name (lower-case letters, digits, '_' and '-', at most 32)", attr, h.User)
	}
	if h.HostKey != "" {
		if vllm.HasControl(h.HostKey) {
			return fmt.Errorf("%s.host_key: holds a control character", attr)
		}
		if _, err := ParseHostKey(h.HostKey); err != nil {
			return fmt.Errorf("%s.host_key: %w", attr, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.Labels)) {
		if !labelKeyRE.MatchString(k) || !labelSafeRE.MatchString(h.Labels[k]) {
			return fmt.Errorf("%s.labels: %q = %q: label keys are letters, digits and . _ / -, values also : = + @ (no blanks, quotes or control characters)", attr, k, h.Labels[k])
		}
	}
	return nil
}

// checkRefSyntax checks every part of a ref for what it may hold (checkHostSyntax), the name and
// the runtime; CheckRef adds the rules of a cluster that is about to be used.
func checkRefSyntax(ref ClusterRef) error {
	if err := ValidateClusterName(ref.Name); err != nil {
		return err
	}
	if ref.Runtime != "" && ref.Runtime != "docker" && ref.Runtime != "podman" {
		return fmt.Errorf("container runtime %q is not supported: use docker or podman", ref.Runtime)
	}
	if ref.Bastion != nil {
		if err := checkHostSyntax(*ref.Bastion, "onprem.bastion", true); err != nil {
			return err
		}
	}
	for i, h := range ref.Hosts {
		if err := checkHostSyntax(h, fmt.Sprintf("onprem.hosts[%d]", i), true); err != nil {
			return err
		}
	}
	return nil
}

// isPublic reports whether a is globally routable: not loopback, private (RFC 1918, ULA),
// link-local, CGNAT shared space (100.64.0.0/10) or unspecified.
func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || cgnat.Contains(a))
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
	// The name reaches remote commands (the node script's arguments, file paths on the hosts).
	if !vllm.EndpointNamePattern.MatchString(name) {
		return ClusterRef{}, "", "", fmt.Errorf("the endpoint name %q of ID %q must be 1 to 40 lower-case letters, digits and dashes, "+
			"starting and ending with a letter or digit", name, id)
	}
	ref, err = DecodeClusterID(clusterID)
	if err != nil {
		return ClusterRef{}, "", "", err
	}
	return ref, clusterID, name, nil
}
