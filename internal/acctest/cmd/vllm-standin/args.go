package main

import (
	"github.com/inferstack/terraform-provider-inferstack/internal/vllm"

	"fmt"
	"strconv"
	"strings"
)

// serveArgs are the arguments of `vllm serve` the stand-in acts on.
type serveArgs struct {
	Model            string
	ServedModelNames []string
	Host             string // "" binds every interface, as vLLM does
	Port             int
	APIKeys          []string
	MaxModelLen      int // 0: not given
	TensorParallel   int
	PipelineParallel int
	DataParallel     int
}

// WorldSize is the number of GPUs the engine needs on this node.
func (a serveArgs) WorldSize() int { return a.TensorParallel * a.PipelineParallel * a.DataParallel }

// boolFlags take no value: the store_true and BooleanOptionalAction flags of `vllm serve` with
// their short aliases (a `--no-` form of each long one is accepted too). From
// ../shared/contracts/vllm-serve-args.json (vLLM commit 9aaf83ef50, "takes_value": false).
var boolFlags = map[string]bool{
	"--aggregate-engine-logging": true, "--allow-credentials": true,
	"--allow-deprecated-quantization": true, "--async-scheduling": true,
	"--calculate-kv-scales": true, "--cudagraph-metrics": true, "--data-parallel-external-lb": true,
	"--data-parallel-hybrid-lb": true, "--disable-cascade-attn": true,
	"--disable-chunked-mm-input": true, "--disable-custom-all-reduce": true,
	"--disable-fastapi-docs": true, "--disable-hybrid-kv-cache-manager": true,
	"--disable-log-stats": true, "--disable-nccl-for-dp-synchronization": true,
	"--disable-sliding-window": true, "--disable-uvicorn-access-log": true,
	"--enable-auto-tool-choice": true, "--enable-chunked-prefill": true, "--enable-dbo": true,
	"--enable-elastic-ep": true, "--enable-ep-weight-filter": true, "--enable-eplb": true,
	"--enable-expert-parallel": true, "--enable-flash-late-interaction": true,
	"--enable-flashinfer-autotune": true, "--enable-force-include-usage": true,
	"--enable-layerwise-nvtx-tracing": true, "--enable-log-deltas": true,
	"--enable-log-outputs": true, "--enable-log-requests": true,
	"--enable-logging-iteration-details": true, "--enable-lora": true,
	"--enable-mamba-cache-stochastic-rounding": true, "--enable-mfu-metrics": true,
	"--enable-mixed-moe-lora-format": true, "--enable-mm-embeds": true, "--enable-offline-docs": true,
	"--enable-prefix-caching": true, "--enable-prompt-embeds": true,
	"--enable-prompt-tokens-details": true, "--enable-request-id-headers": true,
	"--enable-return-routed-experts": true, "--enable-server-load-tracking": true,
	"--enable-sleep-mode": true, "--enable-ssl-refresh": true,
	"--enable-tokenizer-info-endpoint": true, "--enable-tower-connector-lora": true,
	"--enforce-eager": true, "--exclude-tools-when-tool-choice-none": true,
	"--fail-on-environ-validation": true, "--fully-sharded-loras": true, "--grpc": true,
	"--headless": true, "--interleave-mm-strings": true, "--kv-cache-metrics": true,
	"--kv-sharing-fast-prefill": true, "--language-model-only": true, "--log-error-stack": true,
	"--mm-encoder-only": true, "--numa-bind": true, "--ray-workers-use-nsight": true,
	"--return-tokens-as-token-ids": true, "--scheduler-reserve-full-isl": true,
	"--skip-mm-profiling": true, "--skip-tokenizer-init": true, "--specialize-active-lora": true,
	"--tokens-only": true, "--trust-remote-code": true, "--trust-request-chat-template": true,
	"--use-fp64-gumbel": true, "--use-tqdm-on-load": true, "-dpe": true, "-dph": true, "-ep": true,
}

// listFlags take one or more values (nargs='+').
var listFlags = map[string]bool{
	"--lora-modules": true, "--api-key": true, "--allowed-media-domains": true, "--served-model-name": true,
	"--logits-processors": true, "--ignore-patterns": true, "--numa-bind-nodes": true, "--numa-bind-cpus": true,
	"--kv-cache-dtype-skip-layers": true, "--cpu-offload-params": true, "--offload-params": true,
	"--lora-target-modules": true, "--collect-detailed-traces": true, "--cudagraph-capture-sizes": true,
}

// aliases maps the short forms the stand-in acts on to their long names.
var aliases = map[string]string{
	"-tp": "--tensor-parallel-size",
	"-pp": "--pipeline-parallel-size",
	"-dp": "--data-parallel-size",
}

// usageError is an argparse-style error: `vllm serve` prints it and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return "vllm serve: error: " + e.msg }

// parseArgs reads the arguments of `vllm serve` (the word "serve" first is optional) the way
// vLLM's FlexibleArgumentParser does for the flags that matter here, and skips every other
// flag with its value(s): bool flags take none, list flags take all up to the next flag,
// `--hf-token` takes one only when the next word is not a flag, every other flag takes one.
func parseArgs(args []string) (serveArgs, error) {
	a := serveArgs{Port: 8000, TensorParallel: 1, PipelineParallel: 1, DataParallel: 1}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	var positional []string
	var model string
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !isFlag(tok) {
			positional = append(positional, tok)
			continue
		}
		name, inline, hasInline := strings.Cut(tok, "=")
		if strings.HasPrefix(name, "--") {
			name = "--" + strings.ReplaceAll(name[2:], "_", "-")
		}
		if long, ok := aliases[name]; ok {
			name = long
		}
		if isBool(name) {
			if hasInline {
				return a, &usageError{fmt.Sprintf("argument %s: ignored explicit argument '%s'", name, inline)}
			}
			continue
		}
		// Values: inline, or the following words.
		var values []string
		switch {
		case hasInline:
			values = []string{inline}
		case listFlags[name]:
			for i+1 < len(args) && !isFlag(args[i+1]) {
				i++
				values = append(values, args[i])
			}
			if len(values) == 0 {
				return a, &usageError{fmt.Sprintf("argument %s: expected at least one argument", name)}
			}
		case name == "--hf-token":
			if i+1 < len(args) && !isFlag(args[i+1]) {
				i++
			}
			continue
		case strings.HasPrefix(name, "-O") && len(name) > 2 && !strings.HasPrefix(name, "--"):
			continue // -O3: compilation level attached to the flag
		default:
			if i+1 >= len(args) {
				return a, &usageError{fmt.Sprintf("argument %s: expected one argument", name)}
			}
			i++
			values = []string{args[i]}
		}
		var err error
		switch name {
		case "--model":
			model = values[0]
		case "--served-model-name":
			a.ServedModelNames = values
		case "--host":
			a.Host = values[0]
			if a.Host == "None" {
				a.Host = ""
			}
		case "--port":
			a.Port, err = intArg(name, values[0])
		case "--api-key":
			a.APIKeys = values
		case "--max-model-len":
			a.MaxModelLen, err = humanInt(name, values[0])
		case "--tensor-parallel-size":
			a.TensorParallel, err = intArg(name, values[0])
		case "--pipeline-parallel-size":
			a.PipelineParallel, err = intArg(name, values[0])
		case "--data-parallel-size":
			a.DataParallel, err = intArg(name, values[0])
		}
		if err != nil {
			return a, err
		}
	}
	switch len(positional) {
	case 0:
		a.Model = model
	case 1:
		a.Model = positional[0] // the positional model tag wins over --model
	default:
		return a, &usageError{"unrecognized arguments: " + strings.Join(positional[1:], " ")}
	}
	return a, nil
}

// isFlag reports whether a word is an option rather than a value; negative numbers are values.
func isFlag(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

func isBool(name string) bool {
	if boolFlags[name] {
		return true
	}
	if rest, ok := strings.CutPrefix(name, "--no-"); ok {
		return boolFlags["--"+rest]
	}
	return false
}

func intArg(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &usageError{fmt.Sprintf("argument %s: invalid int value: '%s'", name, v)}
	}
	return n, nil
}

// humanInt parses --max-model-len the way vLLM does (vllm.ParseHumanInt: 1k=1000, 1K=1024,
// 25.6k, 2M); -1 and "auto" mean "as much as fits", reported here as 0 (not given).
func humanInt(name, v string) (int, error) {
	if v == "auto" || v == "-1" {
		return 0, nil
	}
	n, ok := vllm.ParseHumanInt(v)
	if !ok || n < 0 {
		return 0, &usageError{fmt.Sprintf("argument %s: invalid human_readable_int value: '%s'", name, v)}
	}
	return int(n), nil
}
