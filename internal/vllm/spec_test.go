package vllm

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFlagTableProvenance(t *testing.T) {
	t.Parallel()
	table, err := Flags()
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Flags) < 200 {
		t.Errorf("the flag table has %d flags; the pinned release has about 250", len(table.Flags))
	}
	if DefaultImage != "vllm/vllm-openai:"+FlagTableRelease {
		t.Errorf("DefaultImage %s is not the flag table's release %s", DefaultImage, FlagTableRelease)
	}
	// The embedded copy is the shared contract (go generate ./internal/vllm copies it).
	shared, err := os.ReadFile("../../../shared/contracts/vllm-serve-args.json")
	if errors.Is(err, os.ErrNotExist) {
		t.Log("../shared/contracts is not beside this checkout; the embedded table stands alone")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, flagTableJSON) {
		t.Error("data/vllm-serve-args.json differs from ../shared/contracts/vllm-serve-args.json: run go generate ./internal/vllm (see data/README.md)")
	}
}

func TestFlagLookup(t *testing.T) {
	t.Parallel()
	table, err := Flags()
	if err != nil {
		t.Fatal(err)
	}
	for spelled, want := range map[string]string{
		"--tensor-parallel-size":     "--tensor-parallel-size",
		"-tp":                        "--tensor-parallel-size",
		"--tensor_parallel_size":     "--tensor-parallel-size",
		"--no-enable-prefix-caching": "--enable-prefix-caching",
		"-q":                         "--quantization",
	} {
		f, ok := table.Lookup(spelled)
		if !ok || f.Name != want {
			t.Errorf("Lookup(%s) = %v, %v; want %s", spelled, f, ok, want)
		}
	}
	if _, ok := table.Lookup("--no-headless"); ok {
		t.Error("--headless is store_true: it has no --no- form")
	}
	if got := table.Suggest("--tensor-paralel-size"); len(got) == 0 || got[0] != "--tensor-parallel-size" {
		t.Errorf("Suggest(--tensor-paralel-size) = %v", got)
	}
	if attr, ok := OwnerOf("-tp"); !ok || attr != AttrTensorParallelSize {
		t.Errorf("OwnerOf(-tp) = %q, %v", attr, ok)
	}
	if _, ok := OwnerOf("--enforce-eager"); ok {
		t.Error("--enforce-eager is owned by no attribute")
	}
}

func TestCheckExtraArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // substrings of the errors, in order; none: valid
	}{
		{"switches and values", []string{"--enforce-eager", "--max-lora-rank", "64", "--swap-space", "4"}, []string{"unknown flag --swap-space"}},
		{"valid mix", []string{"--enforce-eager", "--no-enable-chunked-prefill", "--max-lora-rank=64", "--seed", "-1",
			"--max-num-batched-tokens", "16k", "--cudagraph-capture-sizes", "1", "2", "4", "--compilation-config", `{"mode":3}`,
			"--compilation-config.cudagraph_mode", "FULL", "-O3", "--middleware", "a.b", "--middleware", "c.d",
			"--chat-template", "None", "--collect-detailed-traces", "model", "worker", "--limit-mm-per-prompt", `{"image": 2}`}, nil},
		{"unknown with suggestion", []string{"--tensor-paralel-size", "2"}, []string{"unknown flag --tensor-paralel-size for vllm serve (vLLM v0.22.0); did you mean --tensor-parallel-size"}},
		{"unknown near several", []string{"--max-lora-ranks", "8"}, []string{"did you mean --max-lora-rank"}},
		{"unknown near an owned flag", []string{"--max-model-length", "8192"}, []string{"did you mean --max-model-len (set by engine.max_model_len)?"}},
		{"owned", []string{"--tensor-parallel-size", "4"}, []string{"--tensor-parallel-size is set by engine.tensor_parallel_size"}},
		{"owned alias", []string{"-tp", "4"}, []string{"-tp is set by engine.tensor_parallel_size"}},
		{"owned underscore", []string{"--max_model_len=4096"}, []string{"--max_model_len is set by engine.max_model_len"}},
		{"owned negation", []string{"--no-enable-prefix-caching"}, []string{"is set by engine.enable_prefix_caching"}},
		{"api key never on the command line", []string{"--api-key", "sk-123"}, []string{"--api-key is set by api_key (it reaches vLLM as VLLM_API_KEY"}},
		{"lora", []string{"--lora-modules", "a=b/c"}, []string{"--lora-modules is set by lora_adapters"}},
		{"port", []string{"--port", "9000"}, []string{"--port is set by replicas[*].port"}},
		{"unsupported", []string{"--uds", "/tmp/x"}, []string{"--uds is not supported"}},
		{"int", []string{"--max-loras", "two"}, []string{`--max-loras "two": not an integer`}},
		{"float", []string{"--cpu-offload-gb", "lots"}, []string{"not a number"}},
		{"choice", []string{"--scheduling-policy", "lifo"}, []string{`--scheduling-policy "lifo": not one of fcfs, priority`}},
		{"int choice", []string{"--max-lora-rank", "48"}, []string{"not one of 1, 8, 16, 32, 64, 128, 256, 320, 512"}},
		{"list choice", []string{"--collect-detailed-traces", "model", "gpu"}, []string{`"gpu": not one of all, model, worker`}},
		{"json", []string{"--compilation-config", "{mode: 3}"}, []string{"not valid JSON"}},
		{"dotted non-json", []string{"--max-loras.x", "1"}, []string{"takes no dotted keys"}},
		{"switch with value", []string{"--enforce-eager=true"}, []string{"--enforce-eager is a switch and takes no value: write --enforce-eager or --no-enforce-eager"}},
		{"switch followed by value", []string{"--enforce-eager", "true"}, []string{`unexpected value "true" after --enforce-eager`}},
		{"missing value", []string{"--max-loras"}, []string{"--max-loras needs a value (a int)"}},
		{"missing value before flag", []string{"--scheduling-policy", "--enforce-eager"}, []string{"needs a value (one of fcfs, priority)"}},
		{"twice", []string{"--seed", "1", "--seed", "2"}, []string{"--seed is given twice"}},
		{"positional", []string{"meta-llama/Llama-3.1-8B"}, []string{"is not a flag"}},
		{"several at once", []string{"--bogus", "-tp", "2", "--max-loras", "x"}, []string{"unknown flag --bogus", "-tp is set by", "not an integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := CheckExtraArgs(tt.args)
			if len(errs) != len(tt.want) {
				t.Fatalf("CheckExtraArgs(%q) = %v, want %d errors %q", tt.args, errs, len(tt.want), tt.want)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e, tt.want[i])
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Spec)
		want   map[string]string // attribute -> substring of its detail
	}{
		{"minimal", func(*Spec) {}, nil},
		{"full", func(s *Spec) { *s = fullSpec() }, nil},
		{"endpoint", func(s *Spec) { s.Endpoint = "Bad_Name" }, map[string]string{AttrEndpoint: "lower-case"}},
		{"model id", func(s *Spec) { s.Model.ID = "llama" }, map[string]string{AttrModelID: "owner/name"}},
		{"branch, not sha", func(s *Spec) { s.Model.Revision = "main" }, map[string]string{AttrModelRevision: "resolve the branch"}},
		{"image without tag", func(s *Spec) { s.Engine.Image = "vllm/vllm-openai" }, map[string]string{AttrImage: "has no tag"}},
		{"dtype", func(s *Spec) { s.Engine.DType = "bf16" }, map[string]string{AttrDType: `"bf16" is not one of auto, bfloat16`}},
		{"quantization", func(s *Spec) { s.Engine.Quantization = "awk" }, map[string]string{AttrQuantization: `"awk" is not one of`}},
		{"kv cache dtype", func(s *Spec) { s.Engine.KVCacheDType = "int4" }, map[string]string{AttrKVCacheDType: "is not one of"}},
		{"gpu memory", func(s *Spec) { s.Engine.GPUMemoryUtilization = 1.5 }, map[string]string{AttrGPUMemoryUtilization: "at most 1"}},
		{"parallel", func(s *Spec) { s.Engine.TensorParallelSize = -1 }, map[string]string{AttrTensorParallelSize: "at least 1"}},
		{"extra args", func(s *Spec) { s.Engine.ExtraArgs = []string{"--dtype", "half"} }, map[string]string{AttrExtraArgs: "--dtype is set by engine.dtype"}},
		{"data parallel counts GPUs", func(s *Spec) {
			s.Engine.ExtraArgs = []string{"--data-parallel-size", "2"}
			s.Replicas = []Replica{{Index: 0, GPUs: []int{0}}}
		}, map[string]string{AttrReplicas + "[0].gpus": "needs 2"}},
		{"gpus per replica below tp", func(s *Spec) { s.Engine.TensorParallelSize = 4; s.GPUsPerReplica = 2 }, map[string]string{AttrGPUsPerReplica: "fewer than"}},
		{"adapter name", func(s *Spec) {
			s.LoRAAdapters = []LoRAAdapter{{Name: "Qwen/Qwen2.5-7B-Instruct", Source: "a/b"}, {Name: "x", Source: "../etc"}}
		}, map[string]string{AttrLoRAAdapters + "[0].name": "served model name", AttrLoRAAdapters + "[1].source": "neither"}},
		{"replicas", func(s *Spec) {
			s.Replicas = []Replica{{Index: 0, GPUs: []int{0}, Port: 8000}, {Index: 0, GPUs: []int{0}, Port: 8000}}
		}, map[string]string{AttrReplicas + "[1].index": "used twice", AttrReplicas + "[1].port": "used twice", AttrReplicas + "[1].gpus": "also given to replica 0"}},
		{"listen", func(s *Spec) { s.ListenAddress = "node-1" }, map[string]string{AttrListenAddress: "not an IPv4 address"}},
		{"health", func(s *Spec) { s.HealthAddress = "0.0.0.0" }, map[string]string{AttrHealthAddress: "a client can reach"}},
		{"cache", func(s *Spec) { s.CacheDir = "/data/hf cache" }, map[string]string{AttrCacheDir: "clean absolute path"}},
		{"runtime", func(s *Spec) { s.Runtime = "containerd" }, map[string]string{AttrRuntime: "neither"}},
		{"env", func(s *Spec) { s.Env = map[string]string{"HF_TOKEN": "x", "1X": "y", "A": "b\nc"} }, map[string]string{AttrEnv: "HF_TOKEN is a secret"}},
		{"no api key", func(s *Spec) { s.Secrets.APIKey = SecretRef{} }, map[string]string{AttrAPIKey: "is required"}},
		{"secret file", func(s *Spec) { s.Secrets.APIKey.Name = "relative/key" }, map[string]string{AttrAPIKey: "clean absolute path"}},
		{"secret source", func(s *Spec) { s.Secrets.HFToken = SecretRef{Source: "vault", Name: "x"} }, map[string]string{AttrHFToken: "not one of"}},
		{"key vault url", func(s *Spec) {
			s.Secrets.APIKey = SecretRef{Source: SecretAzureKeyVault, Name: "https://example.com/x"}
		}, map[string]string{AttrAPIKey: "Key Vault secret URL"}},
		{"restart", func(s *Spec) { s.Restart = "sometimes" }, map[string]string{AttrRestart: "not one of"}},
		{"timeout", func(s *Spec) { s.ReadyTimeout = time.Millisecond }, map[string]string{AttrReadyTimeout: "shorter than a second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := minimalSpec()
			tt.modify(&s)
			err := s.Validate()
			got := map[string]string{}
			for _, se := range SpecErrors(err) {
				got[se.Attribute] += se.Detail + "; "
			}
			if len(tt.want) == 0 && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for attr, sub := range tt.want {
				if !strings.Contains(got[attr], sub) {
					t.Errorf("error on %s = %q, want it to contain %q (all: %v)", attr, got[attr], sub, err)
				}
			}
			if _, err := NodeBundle(s); (err != nil) != (len(tt.want) > 0) {
				t.Errorf("NodeBundle error %v, want one: %v", err, len(tt.want) > 0)
			}
		})
	}
}
