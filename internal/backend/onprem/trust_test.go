package onprem

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"
)

// testHostKey is a real ed25519 public key in authorized_keys form, the same for the same seed.
func testHostKey(seed byte) string {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), ed25519.SeedSize)))
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// forgeClusterID encodes a descriptor by hand, as someone typing an import ID could.
func forgeClusterID(name string, desc map[string]any) string {
	b, _ := json.Marshal(desc)
	return IDPrefix + name + "/" + base64.RawURLEncoding.EncodeToString(b)
}

func TestDecodeClusterIDValidatesEveryPart(t *testing.T) {
	t.Parallel()
	host := func(mod func(map[string]any)) map[string]any {
		h := map[string]any{"n": "gpu-a", "a": "10.0.0.11", "k": testHostKey(1)}
		if mod != nil {
			mod(h)
		}
		return h
	}
	desc := func(hosts ...map[string]any) map[string]any {
		d := map[string]any{"n": "lab", "h": []any{}}
		for _, h := range hosts {
			d["h"] = append(d["h"].([]any), h)
		}
		return d
	}
	if _, err := DecodeClusterID(forgeClusterID("lab", desc(host(nil)))); err != nil {
		t.Fatalf("a well-formed descriptor was refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		desc map[string]any
		want string
	}{
		{"address with a shell word", desc(host(func(h map[string]any) { h["a"] = "10.0.0.11;touch /tmp/p" })), "onprem.hosts[0].address"},
		{"address with a zone", desc(host(func(h map[string]any) { h["a"] = "fe80::1%eth0" })), "onprem.hosts[0].address"},
		{"port", desc(host(func(h map[string]any) { h["p"] = 70000 })), "onprem.hosts[0].port"},
		{"negative port", desc(host(func(h map[string]any) { h["p"] = -1 })), "onprem.hosts[0].port"},
		{"user", desc(host(func(h map[string]any) { h["u"] = "root -oProxyCommand=x" })), "onprem.hosts[0].user"},
		{"host key", desc(host(func(h map[string]any) { h["k"] = "ssh-ed25519 AAAAnot-a-key" })), "onprem.hosts[0].host_key"},
		{"host key with a line", desc(host(func(h map[string]any) { h["k"] = testHostKey(1) + "\n* " + testHostKey(2) })), "onprem.hosts[0].host_key"},
		{"host name", desc(host(func(h map[string]any) { h["n"] = "a b" })), "onprem.hosts[0].name"},
		{"label value", desc(host(func(h map[string]any) { h["l"] = map[string]string{"rack": "r1\nx"} })), "onprem.hosts[0].labels"},
		{"label key", desc(host(func(h map[string]any) { h["l"] = map[string]string{"$(id)": "x"} })), "onprem.hosts[0].labels"},
		{"runtime", func() map[string]any { d := desc(host(nil)); d["r"] = "docker;id"; return d }(), "not supported"},
		{"bastion", func() map[string]any {
			d := desc(host(nil))
			d["b"] = host(func(h map[string]any) { h["a"] = "-oProxyCommand=x" })
			return d
		}(), "onprem.bastion.address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeClusterID(forgeClusterID("lab", tc.desc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeClusterID = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := DecodeClusterID(forgeClusterID("Lab$(id)", map[string]any{"n": "Lab$(id)"})); err == nil {
		t.Error("a cluster name with a shell word was accepted")
	}
}

func TestParseEndpointIDValidatesTheName(t *testing.T) {
	t.Parallel()
	clusterID := EncodeClusterID(ClusterRef{Name: "lab", Hosts: []Host{{Name: "gpu-a", Address: "10.0.0.11", HostKey: testHostKey(1)}}})
	for _, name := range []string{"qwen;touch /tmp/p", "$(id)", "Qwen", "a\nb", "-rf", strings.Repeat("a", 41)} {
		if _, _, _, err := ParseEndpointID(backend.EndpointID(clusterID, name)); err == nil || !strings.Contains(err.Error(), "endpoint name") {
			t.Errorf("ParseEndpointID accepted the endpoint name %q (err %v)", name, err)
		}
	}
}

// TestImportedInsecureDescriptor: an ID can switch host-key checking off only loudly.
func TestImportedInsecureDescriptor(t *testing.T) {
	t.Parallel()
	ref := ClusterRef{Name: "lab", Insecure: true, Hosts: []Host{{Name: "gpu-a", Address: "10.0.0.11"}}}
	got, err := DecodeClusterID(EncodeClusterID(ref))
	if err != nil || !got.Insecure || !got.Hosts[0].InsecureIgnoreHostKey {
		t.Fatalf("DecodeClusterID = %+v, %v: an ID the provider made from a configuration that asked for it must decode as it is", got, err)
	}
	if err := CheckImportedRef(got); err == nil || !strings.Contains(err.Error(), "host-key checking off") {
		t.Fatalf("CheckImportedRef = %v, want a refusal", err)
	}
	ref.Insecure = false
	if err := CheckImportedRef(ref); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRefListenAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, addr string
		allow      bool
		want       string
	}{
		{"private", "10.1.2.3", false, ""},
		{"rfc1918 172", "172.20.0.5", false, ""},
		{"cgnat", "100.100.1.1", false, ""},
		{"loopback (lab)", "127.0.0.5", false, ""},
		{"public refused", "203.0.113.7", false, "hosts[0].address: 203.0.113.7 is a public address"},
		{"public opted in", "203.0.113.7", true, ""},
		{"dns name", "gpu-a.example.com", false, `hosts[0].address: "gpu-a.example.com" is not an IPv4 address`},
		{"ipv6", "2001:db8::1", true, "not an IPv4 address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckRef(ClusterRef{Name: "lab", AllowPublicListen: tc.allow, Hosts: []Host{{Name: "a", Address: tc.addr}}})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckRef: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckRef = %v, want %q", err, tc.want)
			}
			if tc.want != "" && strings.Contains(tc.want, "public") && !strings.Contains(err.Error(), "allow_public_listen") {
				t.Errorf("the error does not name the fix: %v", err)
			}
		})
	}
	// The opt-in travels in the ID, and only when set: existing IDs do not change.
	ref := ClusterRef{Name: "lab", Hosts: []Host{{Name: "a", Address: "10.0.0.1"}}}
	if strings.Contains(mustDecodeJSON(t, EncodeClusterID(ref)), `"pl"`) {
		t.Error("an ID without allow_public_listen carries the field")
	}
	ref.AllowPublicListen = true
	if got, err := DecodeClusterID(EncodeClusterID(ref)); err != nil || !got.AllowPublicListen {
		t.Errorf("allow_public_listen does not survive the ID: %+v, %v", got, err)
	}
}

func mustDecodeJSON(t *testing.T, id string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(id[strings.LastIndex(id, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzDecodeClusterID: whatever an ID holds, a decoded ref has only parts that are safe to dial
// and to name in remote commands, and it encodes back to an ID that decodes to the same.
func FuzzDecodeClusterID(f *testing.F) {
	f.Add(EncodeClusterID(ClusterRef{Name: "lab", Hosts: []Host{{Name: "gpu-a", Address: "10.0.0.11", Port: 22, User: "ops", HostKey: testHostKey(1), Labels: map[string]string{"rack": "r1"}}}}))
	f.Add(forgeClusterID("lab", map[string]any{"n": "lab", "i": true, "h": []any{map[string]any{"n": "a", "a": "10.0.0.1;id"}}}))
	f.Add(forgeClusterID("lab", map[string]any{"n": "lab", "h": []any{map[string]any{"n": "a", "a": "gpu.example.com", "u": "r\nx"}}}))
	f.Add("onprem/lab/!!!")
	f.Fuzz(func(t *testing.T, id string) {
		ref, err := DecodeClusterID(id)
		if err != nil {
			return
		}
		hosts := append([]Host(nil), ref.Hosts...)
		if ref.Bastion != nil {
			hosts = append(hosts, *ref.Bastion)
		}
		for _, h := range hosts {
			for _, v := range []string{h.Name, h.Address, h.User, h.HostKey} {
				if vllm.HasControl(v) || strings.ContainsAny(v, " ;$`'\"\\|&<>(){}") && v != h.HostKey {
					t.Fatalf("decoded host part %q holds a shell or control character", v)
				}
			}
			if h.Port < 0 || h.Port > 65535 || strings.HasPrefix(h.Address, "-") || strings.HasPrefix(h.User, "-") {
				t.Fatalf("decoded host %+v", h)
			}
			for k, v := range h.Labels {
				if vllm.HasControl(k+v) || strings.ContainsAny(k+v, " ;$`'\"\\") {
					t.Fatalf("decoded label %q=%q", k, v)
				}
			}
		}
		again, err := DecodeClusterID(EncodeClusterID(ref))
		if err != nil || EncodeClusterID(again) != EncodeClusterID(ref) {
			t.Fatalf("re-encoding %+v: %v", ref, err)
		}
	})
}

// FuzzParseEndpointID: an endpoint name that parses is one the node script and file paths take.
func FuzzParseEndpointID(f *testing.F) {
	clusterID := EncodeClusterID(ClusterRef{Name: "lab", Hosts: []Host{{Name: "gpu-a", Address: "10.0.0.11", HostKey: testHostKey(1)}}})
	f.Add(backend.EndpointID(clusterID, "qwen-7b"))
	f.Add(backend.EndpointID(clusterID, "qwen;id"))
	f.Add(backend.EndpointID(clusterID, "$(touch /tmp/p)"))
	f.Fuzz(func(t *testing.T, id string) {
		_, _, name, err := ParseEndpointID(id)
		if err != nil {
			return
		}
		if !vllm.EndpointNamePattern.MatchString(name) {
			t.Fatalf("ParseEndpointID passed the name %q", name)
		}
	})
}
