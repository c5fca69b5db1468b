package vllm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderers")

const testSHA = "0e9e39f249a16976918f6564b8830bc894c89659"

// minimalSpec is an endpoint with every default.
func minimalSpec() Spec {
	return Spec{
		Endpoint: "tf-acc-test-min",
		Model:    Model{ID: "Qwen/Qwen2.5-7B-Instruct", Revision: testSHA},
		Replicas: []Replica{{Index: 0}},
		Secrets:  Secrets{APIKey: SecretRef{Source: SecretFile, Name: SecretFilePath("tf-acc-test-min", "VLLM_API_KEY")}},
	}
}

// fullSpec sets every setting.
func fullSpec() Spec {
	yes := true
	return Spec{
		Endpoint:        "tf-acc-test-llama",
		Model:           Model{ID: "meta-llama/Llama-3.1-70B-Instruct", Revision: testSHA},
		ServedModelName: "llama-70b",
		Engine: Engine{
			Image:                "vllm/vllm-openai:v0.22.0",
			TensorParallelSize:   2,
			PipelineParallelSize: 1,
			MaxModelLen:          32768,
			GPUMemoryUtilization: 0.9,
			DType:                "bfloat16",
			Quantization:         "fp8",
			KVCacheDType:         "fp8",
			MaxNumSeqs:           64,
			EnablePrefixCaching:  &yes,
			ExtraArgs:            []string{"--max-lora-rank", "64", "--enforce-eager", `--compilation-config={"mode": 3}`},
		},
		LoRAAdapters: []LoRAAdapter{
			{Name: "sql", Source: "jeeejeee/llama32-3b-text2sql-spider"},
			{Name: "support", Source: "/srv/adapters/support-qlora"},
		},
		Replicas:      []Replica{{Index: 0, GPUs: []int{0, 1}, Port: 8000}, {Index: 1}},
		ListenAddress: "10.0.1.15",
		CacheDir:      "/opt/dlami/nvme/hf-cache",
		Env:           map[string]string{"VLLM_LOGGING_LEVEL": "DEBUG", "NCCL_DEBUG": "WARN"},
		Secrets: Secrets{
			APIKey:  SecretRef{Source: SecretAWSSecretsManager, Name: "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm/api-key-AbCdEf", JSONKey: "key"},
			HFToken: SecretRef{Source: SecretAWSSSMParameter, Name: "/inferstack/hf-token", Region: "us-east-1"},
		},
		Restart:      RestartAlways,
		ReadyTimeout: 45 * time.Minute,
	}
}

func podmanSpec() Spec {
	s := minimalSpec()
	s.Endpoint = "tf-acc-test-podman"
	s.Runtime = RuntimePodman
	s.Engine.TensorParallelSize = 2
	s.Replicas = []Replica{{Index: 3, GPUs: []int{2, 3}, Port: 9000}}
	s.ListenAddress = "0.0.0.0"
	s.Secrets.APIKey = SecretRef{Source: SecretAzureKeyVault, Name: "https://kv-llm.vault.azure.net/secrets/api-key"}
	return s
}

// golden compares got with testdata/NAME.golden, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/vllm -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the renderer's output (go test ./internal/vllm -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// prettyCommand shell-quotes a command with each flag, the image and the model on a line of
// their own.
func prettyCommand(words []string, spec Spec) string {
	var b strings.Builder
	for i, w := range words {
		q := shellQuote([]string{w})
		switch {
		case i == 0:
		case isFlagToken(w), strings.HasSuffix(w, spec.Engine.Image) && w != "", w == spec.Model.ID:
			b.WriteString(" \\\n  ")
		default:
			b.WriteString(" ")
		}
		b.WriteString(q)
	}
	return b.String() + "\n"
}

func TestServeArgsGolden(t *testing.T) {
	t.Parallel()
	for name, spec := range map[string]Spec{"args_minimal": minimalSpec(), "args_full": fullSpec()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args, err := spec.ServeArgs(8000)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, strings.Join(args, "\n")+"\n")
		})
	}
}

func TestServeArgsKeepSecretsOut(t *testing.T) {
	t.Parallel()
	spec := fullSpec()
	args, err := spec.ServeArgs(8000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NodeBundle(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"--api-key", "--hf-token"} {
		for _, a := range args {
			if strings.HasPrefix(a, f) {
				t.Errorf("vllm serve arguments hold %s", a)
			}
		}
	}
	// The references are in the spec JSON; no unit or user data names them, let alone a value.
	for _, u := range b.Units {
		if strings.Contains(u.Content, "VLLM_API_KEY") || strings.Contains(u.Content, "secretsmanager") {
			t.Errorf("unit %s mentions a secret:\n%s", u.Name, u.Content)
		}
	}
	if !strings.Contains(string(b.SpecJSON), `"env": "VLLM_API_KEY"`) || !strings.Contains(string(b.SpecJSON), `"region": "us-east-1"`) {
		t.Errorf("spec JSON lacks the secret references (with the region from the ARN):\n%s", b.SpecJSON)
	}
}

func TestContainerCommandGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    Spec
		replica int
		place   Placement
	}{
		{"container_docker", fullSpec(), 0, Placement{}},
		{"container_docker_allocated", fullSpec(), 1, Placement{GPUs: []int{2, 3}, Port: 8001}},
		{"container_podman", podmanSpec(), 0, Placement{RuntimePath: "/usr/local/bin/podman", CacheDir: "/var/lib/inferstack/hf-cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := tt.spec.ContainerCommand(tt.spec.Replicas[tt.replica], tt.place)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, prettyCommand(cmd, tt.spec.withDefaults()))
		})
	}
}

func TestContainerCommandNeedsPlacement(t *testing.T) {
	t.Parallel()
	spec := fullSpec()
	_, err := spec.ContainerCommand(spec.Replicas[1], Placement{})
	if err == nil || !strings.Contains(err.Error(), "no GPU ids, port") {
		t.Errorf("a replica the node has not placed rendered: %v", err)
	}
	spec = minimalSpec()
	_, err = spec.ContainerCommand(Replica{Index: 0, GPUs: []int{0}, Port: 8000}, Placement{})
	if err == nil || !strings.Contains(err.Error(), "listen address, cache dir") {
		t.Errorf("a replica without listen address and cache rendered: %v", err)
	}
}

func TestUnitGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    Spec
		replica int
		place   Placement
	}{
		{"unit_docker", fullSpec(), 0, Placement{}},
		{"unit_podman", podmanSpec(), 0, Placement{CacheDir: "/data/hf"}},
		{"unit_lab", minimalSpec(), 0, Placement{Root: "/tmp/lab/hosts/gpu-a/root", RuntimePath: "/tmp/lab/hosts/gpu-a/shims/docker",
			GPUs: []int{1}, Port: 8003, ListenAddress: "127.0.0.3", CacheDir: "/var/lib/inferstack/hf-cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			unit, err := tt.spec.Unit(tt.spec.Replicas[tt.replica], tt.place)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, unit)
		})
	}
}

// The node script fills the placeholders of a unit template in; what it writes must be what
// Spec.Unit renders for the same placement.
func TestUnitTemplateMatchesUnit(t *testing.T) {
	t.Parallel()
	for _, spec := range []Spec{minimalSpec(), fullSpec(), podmanSpec()} {
		b, err := NodeBundle(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range b.Units {
			r := spec.Replicas[i]
			place := Placement{Root: "/lab/h1", RuntimePath: "/lab/shims/" + string(b.Spec.Runtime), GPUs: r.GPUs, Port: r.Port,
				ListenAddress: "127.0.0.9", CacheDir: "/var/lib/inferstack/hf-cache"}
			if len(place.GPUs) == 0 {
				place.GPUs = []int{4, 5}[:b.Spec.GPUsPerReplica]
			}
			if place.Port == 0 {
				place.Port = 8123
			}
			if spec.ListenAddress != "" {
				place.ListenAddress = spec.ListenAddress
			}
			if spec.CacheDir != "" {
				place.CacheDir = spec.CacheDir
			}
			want, err := spec.Unit(r, place)
			if err != nil {
				t.Fatal(err)
			}
			gpus, devices := gpuWords(place.GPUs)
			got := strings.NewReplacer(
				phRoot, place.Root, phRuntime, place.RuntimePath, phGPUDevices, strings.Join(devices, " "), phGPUs, gpus,
				phPort, fmt.Sprint(place.Port), phListen, place.ListenAddress, phCache, place.Root+place.CacheDir,
			).Replace(u.Content)
			if got != want {
				t.Errorf("%s: the template with the placement filled in differs from Spec.Unit:\n%s", u.Name, lineDiff(want, got))
			}
			if strings.Contains(got, "@INFERSTACK_") {
				t.Errorf("%s: placeholders left after substitution", u.Name)
			}
		}
	}
}

func TestNodeBundleGolden(t *testing.T) {
	t.Parallel()
	b, err := NodeBundle(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "unit_template", b.Units[1].Content)
	golden(t, "spec", string(b.SpecJSON))

	// The user data: the script and the spec are gzip+base64; the golden file shows what they
	// decode to by name, and the test checks that they decode to exactly the bundle's files.
	blob := regexp.MustCompile(`(?m)^    content: (\S+)$`)
	files := [][]byte{b.Script, b.SpecJSON}
	matches := blob.FindAllStringSubmatch(b.CloudInit, -1)
	if len(matches) != len(files) {
		t.Fatalf("cloud-init has %d gz+b64 files, want %d:\n%s", len(matches), len(files), b.CloudInit)
	}
	for i, m := range matches {
		raw, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, files[i]) {
			t.Errorf("cloud-init file %d does not decode to the bundle's file", i)
		}
	}
	names := []string{"<the node script, gz+b64>", "<the spec JSON, gz+b64>"}
	i := 0
	readable := blob.ReplaceAllStringFunc(b.CloudInit, func(string) string {
		i++
		return "    content: " + names[i-1]
	})
	golden(t, "cloud-init", readable)
	ud, err := AWSUserData(b.CloudInit)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ReadUserData(ud); err != nil || back != b.CloudInit {
		t.Errorf("ReadUserData(AWSUserData(x)) != x: %v", err)
	}
	if plain, _ := ReadUserData([]byte(b.CloudInit)); plain != b.CloudInit {
		t.Error("ReadUserData changed plain user data")
	}
	t.Logf("cloud-init user data: %d bytes, %d compressed (EC2 takes %d); node script %d bytes", len(b.CloudInit), len(ud), MaxAWSUserData, len(b.Script))
	// A node of eight replicas still fits EC2's limit.
	many := fullSpec()
	many.Replicas = nil
	for i := range 8 {
		many.Replicas = append(many.Replicas, Replica{Index: i})
	}
	if mb, err := NodeBundle(many); err != nil {
		t.Errorf("eight replicas: %v", err)
	} else {
		t.Logf("cloud-init user data of eight replicas: %d bytes", len(mb.CloudInit))
	}
	for _, s := range []string{"VLLM_API_KEY=", "HF_TOKEN="} {
		if strings.Contains(b.CloudInit, s) {
			t.Errorf("cloud-init holds %s", s)
		}
	}
}

func TestNodeBundleSpecJSON(t *testing.T) {
	t.Parallel()
	b, err := NodeBundle(fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	var ns nodeSpec
	if err := json.Unmarshal(b.SpecJSON, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Schema != SpecSchema || ns.GPUsPerReplica != 2 || ns.ReadyTimeoutSeconds != 2700 || ns.PortBase != DefaultPortBase {
		t.Errorf("spec JSON defaults: %+v", ns)
	}
	if len(ns.Replicas) != 2 || ns.Replicas[0].Port != 8000 || len(ns.Replicas[1].GPUs) != 0 || ns.Replicas[1].Unit != "inferstack-tf-acc-test-llama-1.service" {
		t.Errorf("spec JSON replicas: %+v", ns.Replicas)
	}
	// A replica with fixed GPUs and port leaves only node facts to fill in.
	if strings.Contains(ns.Replicas[0].UnitContent, phGPUs) || strings.Contains(ns.Replicas[0].UnitContent, phPort) {
		t.Errorf("fixed GPUs or port left as placeholders:\n%s", ns.Replicas[0].UnitContent)
	}
	if !strings.Contains(ns.Replicas[1].UnitContent, `'"device=`+phGPUs+`"'`) {
		t.Errorf("an allocated replica's unit lacks the GPU placeholder:\n%s", ns.Replicas[1].UnitContent)
	}
	script, version, err := NodeScript()
	if err != nil || !bytes.Equal(script, b.Script) || version != b.ScriptVersion || !bytes.Contains(script, []byte("readonly VERSION='"+version+"'")) {
		t.Errorf("NodeScript and the bundle disagree: %v", err)
	}
	if bytes.Contains(script, []byte("{{")) {
		t.Error("the rendered node script holds template actions")
	}
}

func TestSystemdQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"--port":            "--port",
		`"device=0,1"`:      `'"device=0,1"'`,
		`{"mode": 3}`:       `'{"mode": 3}'`,
		"50%":               "50%%",
		"$HOME":             "$$HOME",
		"it's":              `'it\'s'`,
		"":                  "''",
		`back\slash`:        `'back\\slash'`,
		"a=b:c,d/e.f@g+h-i": "a=b:c,d/e.f@g+h-i",
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// shellQuote renders words as a POSIX shell command line, for the golden files.
func shellQuote(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		safe := w != ""
		for _, c := range w {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_@%+=:,./-", c)) {
				safe = false
				break
			}
		}
		if safe {
			quoted[i] = w
		} else {
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// TestSpecFromCloudInit: the spec JSON comes back out of the user data byte for byte, and user
// data without it is an error naming the file.
func TestSpecFromCloudInit(t *testing.T) {
	t.Parallel()
	spec := fullSpec()
	b, err := NodeBundle(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SpecFromCloudInit(b.CloudInit, spec.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(b.SpecJSON) {
		t.Errorf("spec from the user data differs from the bundle's:\n%s\nwant\n%s", got, b.SpecJSON)
	}
	if _, err := SpecFromCloudInit(b.CloudInit, "other"); err == nil || !strings.Contains(err.Error(), SpecPath("other")) {
		t.Errorf("another endpoint's spec: err = %v, want one naming %s", err, SpecPath("other"))
	}
}
