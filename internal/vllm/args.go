package vllm

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ownedFlags are the flags the typed attributes set: in extra_args they are an error that names
// the attribute to use instead.
var ownedFlags = map[string]string{
	"--model":                  AttrModelID,
	"--revision":               AttrModelRevision,
	"--served-model-name":      AttrServedModelName,
	"--tensor-parallel-size":   AttrTensorParallelSize,
	"--pipeline-parallel-size": AttrPipelineParallelSize,
	"--max-model-len":          AttrMaxModelLen,
	"--gpu-memory-utilization": AttrGPUMemoryUtilization,
	"--dtype":                  AttrDType,
	"--quantization":           AttrQuantization,
	"--kv-cache-dtype":         AttrKVCacheDType,
	"--max-num-seqs":           AttrMaxNumSeqs,
	"--enable-prefix-caching":  AttrEnablePrefixCaching,
	"--enable-lora":            AttrLoRAAdapters,
	"--lora-modules":           AttrLoRAAdapters,
	"--port":                   AttrReplicas + "[*].port",
	"--host":                   AttrListenAddress,
	"--api-key":                AttrAPIKey + " (it reaches vLLM as VLLM_API_KEY in a root-only env file, never on the command line)",
	"--hf-token":               AttrHFToken + " (it reaches vLLM as HF_TOKEN in a root-only env file, never on the command line)",
	"--download-dir":           AttrCacheDir,
}

// unsupportedFlags would break how the node runs and probes vLLM.
var unsupportedFlags = map[string]string{
	"--config":       "a config file inside the container does not exist: pass its flags in extra_args",
	"--uds":          "the node probes and publishes a TCP port",
	"--headless":     "a headless engine has no API server to probe or route to",
	"--grpc":         "the node probes and routes to the OpenAI-compatible HTTP server",
	"--ssl-keyfile":  "TLS terminates at the load balancer or gateway; the node probes plain HTTP",
	"--ssl-certfile": "TLS terminates at the load balancer or gateway; the node probes plain HTTP",
}

// OwnerOf returns the attribute that sets a `vllm serve` flag (any spelling), if a typed attribute
// owns it.
func OwnerOf(flag string) (string, bool) {
	t, err := Flags()
	if err != nil {
		return "", false
	}
	f, ok := t.Lookup(flag)
	if !ok {
		return "", false
	}
	attr, ok := ownedFlags[f.Name]
	return attr, ok
}

// ServeArgs renders the arguments of `vllm serve` for a replica whose container listens on port
// (the image's entrypoint is `vllm serve`, so they follow the image in the container command):
// the model, its revision, the served name, the typed engine settings, the LoRA adapters, the
// port, then the extra args. Secrets never appear here.
func (s Spec) ServeArgs(port int) ([]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("rendering vllm serve arguments for %s: port %d is not a port", s.Endpoint, port)
	}
	return s.withDefaults().serveArgs(strconv.Itoa(port)), nil
}

// serveArgs renders the arguments of a defaulted, valid spec; port may be a placeholder.
func (s Spec) serveArgs(port string) []string {
	e := s.Engine
	args := []string{
		s.Model.ID,
		"--revision", s.Model.Revision,
		"--served-model-name", s.ServedModelName,
		"--port", port,
		"--tensor-parallel-size", strconv.Itoa(e.TensorParallelSize),
	}
	if e.PipelineParallelSize > 1 {
		args = append(args, "--pipeline-parallel-size", strconv.Itoa(e.PipelineParallelSize))
	}
	if e.MaxModelLen > 0 {
		args = append(args, "--max-model-len", strconv.Itoa(e.MaxModelLen))
	}
	if e.GPUMemoryUtilization > 0 {
		args = append(args, "--gpu-memory-utilization", strconv.FormatFloat(e.GPUMemoryUtilization, 'f', -1, 64))
	}
	if e.DType != "" {
		args = append(args, "--dtype", e.DType)
	}
	if e.Quantization != "" {
		args = append(args, "--quantization", e.Quantization)
	}
	if e.KVCacheDType != "" {
		args = append(args, "--kv-cache-dtype", e.KVCacheDType)
	}
	if e.MaxNumSeqs > 0 {
		args = append(args, "--max-num-seqs", strconv.Itoa(e.MaxNumSeqs))
	}
	if e.EnablePrefixCaching != nil {
		if *e.EnablePrefixCaching {
			args = append(args, "--enable-prefix-caching")
		} else {
			args = append(args, "--no-enable-prefix-caching")
		}
	}
	if len(s.LoRAAdapters) > 0 {
		args = append(args, "--enable-lora", "--lora-modules")
		for _, a := range s.LoRAAdapters {
			args = append(args, a.Name+"="+a.Source)
		}
	}
	return append(args, e.ExtraArgs...)
}

// CheckExtraArgs checks `vllm serve` arguments against the flag table of the pinned release: an
// unknown flag (with the nearest names), a value of the wrong type or outside the flag's choices,
// a missing value, a flag given twice, and a flag a typed attribute owns (naming the attribute)
// are errors. It returns every problem found.
func CheckExtraArgs(args []string) []error {
	t, err := Flags()
	if err != nil {
		return []error{err}
	}
	return checkExtraArgs(t, args)
}

func checkExtraArgs(t *FlagTable, args []string) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]string{}
	for i, a := range args {
		// Checked before anything else, and on every word: a value the flag table would take
		// (a --chat-template string) must still never carry a line into a unit or a shell word.
		if HasControl(a) {
			bad("word %d, %q, %s", i+1, a, controlDetail)
		}
	}
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if !isFlagToken(tok) {
			if i == 0 {
				bad("%q is not a flag: extra_args are flags of vllm serve with their values (the model is model.id)", tok)
			} else {
				bad("unexpected value %q after %s", tok, args[i-1])
			}
			continue
		}
		spelled, inline, hasInline := strings.Cut(tok, "=")
		// -O3 and -O 3 are vLLM's shorthand for --optimization-level.
		if rest, ok := strings.CutPrefix(spelled, "-O"); ok && !strings.HasPrefix(spelled, "--") {
			if rest != "" {
				spelled, inline, hasInline = "--optimization-level", rest, true
			} else {
				spelled = "--optimization-level"
			}
		}
		// --compilation-config.mode 3: a dotted key of a JSON flag.
		dotted := ""
		if base, key, ok := strings.Cut(spelled, "."); ok && strings.HasPrefix(spelled, "--") {
			spelled, dotted = base, key
		}
		f, ok := t.Lookup(spelled)
		if !ok {
			msg := fmt.Sprintf("unknown flag %s for vllm serve (vLLM %s)", spelled, FlagTableRelease)
			if s := t.Suggest(spelled); len(s) > 0 {
				for i, name := range s {
					if attr, owned := ownedFlags[name]; owned {
						s[i] += " (set by " + strings.SplitN(attr, " ", 2)[0] + ")"
					}
				}
				msg += "; did you mean " + strings.Join(s, ", ") + "?"
			}
			errs = append(errs, fmt.Errorf("%s", msg))
			i = skipValues(args, i)
			continue
		}
		if attr, owned := ownedFlags[f.Name]; owned {
			bad("%s is set by %s: use that attribute instead of extra_args", spelled, attr)
			i = skipValues(args, i)
			continue
		}
		if why, no := unsupportedFlags[f.Name]; no {
			bad("%s is not supported: %s", spelled, why)
			i = skipValues(args, i)
			continue
		}
		if prev, dup := seen[f.Name+"."+dotted]; dup && !f.Repeatable {
			bad("%s is given twice (also as %s)", spelled, prev)
		}
		seen[f.Name+"."+dotted] = spelled

		if dotted != "" {
			if f.Type != "json" {
				bad("%s takes no dotted keys: it is a %s flag, not a JSON one", spelled, f.Type)
			}
			if !hasInline {
				if i+1 >= len(args) || isFlagToken(args[i+1]) {
					bad("%s.%s needs a value", spelled, dotted)
				} else {
					i++
				}
			}
			continue
		}
		if !f.TakesValue {
			if hasInline {
				bad("%s is a switch and takes no value: write %s%s", spelled, f.Name, negationHint(f))
			}
			continue
		}
		var values []string
		switch {
		case hasInline:
			values = []string{inline}
		case f.Nargs == "+":
			for i+1 < len(args) && !isFlagToken(args[i+1]) {
				i++
				values = append(values, args[i])
			}
		case i+1 < len(args) && !isFlagToken(args[i+1]):
			i++
			values = []string{args[i]}
		}
		if len(values) == 0 {
			bad("%s needs a value (%s)", spelled, describeType(f))
			continue
		}
		for _, v := range values {
			if err := checkValue(f, v); err != nil {
				bad("%s %q: %v", spelled, v, err)
			}
		}
	}
	return errs
}

// skipValues returns the index of the last value word after the flag at i.
func skipValues(args []string, i int) int {
	if strings.Contains(args[i], "=") {
		return i
	}
	for i+1 < len(args) && !isFlagToken(args[i+1]) {
		i++
	}
	return i
}

func negationHint(f *Flag) string {
	if f.Negation != "" {
		return " or " + f.Negation
	}
	return ""
}

// isFlagToken reports whether a word is an option rather than a value; negative numbers are values.
func isFlagToken(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

func describeType(f *Flag) string {
	if c := f.Choices; len(c) > 0 {
		return "one of " + strings.Join(c, ", ")
	}
	switch f.Type {
	case "list[int]":
		return "one or more integers"
	case "list[str]":
		return "one or more strings"
	case "json":
		return "a JSON value"
	}
	if f.Nargs == "+" {
		return "one or more strings"
	}
	return "a " + strings.TrimPrefix(f.Type, "json|")
}

// checkValue checks one value of a flag against its type and choices.
func checkValue(f *Flag, v string) error {
	if f.Nullable && (v == "None" || v == "") {
		return nil
	}
	elem := strings.TrimSuffix(strings.TrimPrefix(f.Type, "list["), "]")
	switch elem {
	case "int":
		if f.Name == "--max-model-len" && (v == "auto" || v == "-1") {
			break
		}
		if f.humanReadable() {
			if _, ok := ParseHumanInt(v); !ok {
				return fmt.Errorf("not an integer (suffixes k, m, g, K, M, G allowed)")
			}
		} else if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("not an integer")
		}
	case "float":
		if x, err := strconv.ParseFloat(v, 64); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("not a number")
		}
	case "json":
		if !json.Valid([]byte(v)) {
			return fmt.Errorf("not valid JSON")
		}
	}
	if c := f.Choices; len(c) > 0 && !slices.Contains(c, v) {
		return fmt.Errorf("not one of %s", strings.Join(c, ", "))
	}
	return nil
}

// ParseHumanInt parses vLLM's human-readable ints: 1k = 1000, 1K = 1024, 25.6k, 2M.
func ParseHumanInt(v string) (int64, bool) {
	mult := 1.0
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k':
			mult = 1e3
		case 'm':
			mult = 1e6
		case 'g':
			mult = 1e9
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			v = v[:n-1]
		}
	}
	if mult == 1 {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return int64(math.Round(x * mult)), true
}
