package vllm

import (
	"encoding/json"
	"strconv"
	"strings"
)

// AppliedSpec is an endpoint's settings as a node last applied them: read back
// from the spec JSON (for import).
type AppliedSpec struct {
	Model, Revision, ServedModelName, Image  string
	TensorParallelSize, PipelineParallelSize int
	MaxModelLen, MaxNumSeqs                  int
	GPUMemoryUtilization                     float64
	DType, Quantization, KVCacheDType        string
	EnablePrefixCaching                      *bool
	ExtraArgs                                []string
	Replicas                                 int
}

// ParseSpecJSON reads an endpoint's settings back from the spec JSON a node converged to (the
// file the node script keeps, or the one in a cloud node's user data). Replicas is the number of
// replicas in it; the settings come from the first.
func ParseSpecJSON(b []byte) (AppliedSpec, error) {
	var ns struct {
		Image           string `json:"image"`
		Model           string `json:"model"`
		Revision        string `json:"revision"`
		ServedModelName string `json:"served_model_name"`
		Replicas        []struct {
			UnitContent string `json:"unit_content"`
		} `json:"replicas"`
	}
	if err := json.Unmarshal(b, &ns); err != nil {
		return AppliedSpec{}, err
	}
	out := AppliedSpec{Model: ns.Model, Revision: ns.Revision, ServedModelName: ns.ServedModelName, Image: ns.Image, Replicas: len(ns.Replicas)}
	if len(ns.Replicas) > 0 {
		parseServeArgs(&out, serveArgsOf(ns.Replicas[0].UnitContent, ns.Image))
	}
	return out, nil
}

// serveArgsOf returns the words after the image in a unit's ExecStart.
func serveArgsOf(unit, image string) []string {
	_, rest, ok := strings.Cut(unit, "\nExecStart=")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "\nExecStop=")
	rest = strings.ReplaceAll(rest, "\\\n", " ")
	words := splitWords(rest)
	for i, w := range words {
		if w == image || strings.HasSuffix(w, "/"+image) {
			return words[i+1:]
		}
	}
	return nil
}

// splitWords splits a systemd command line: blanks separate words; double or single quotes
// group, with backslash escapes inside double quotes.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case quote != 0 && r == '\\' && quote == '"':
			esc = true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

func parseServeArgs(out *AppliedSpec, args []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = args[1:] // the model
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := ""
		if i+1 < len(args) {
			val = args[i+1]
		}
		switch a {
		case "--revision", "--served-model-name", "--port":
			i++
		case "--lora-modules": // NAME=SOURCE, one word per adapter
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
		case "--enable-lora":
		case "--tensor-parallel-size":
			out.TensorParallelSize = atoi(val)
			i++
		case "--pipeline-parallel-size":
			out.PipelineParallelSize = atoi(val)
			i++
		case "--max-model-len":
			out.MaxModelLen = atoi(val)
			i++
		case "--gpu-memory-utilization":
			out.GPUMemoryUtilization, _ = strconv.ParseFloat(val, 64)
			i++
		case "--dtype":
			out.DType = val
			i++
		case "--quantization":
			out.Quantization = val
			i++
		case "--kv-cache-dtype":
			out.KVCacheDType = val
			i++
		case "--max-num-seqs":
			out.MaxNumSeqs = atoi(val)
			i++
		case "--enable-prefix-caching", "--no-enable-prefix-caching":
			v := a == "--enable-prefix-caching"
			out.EnablePrefixCaching = &v
		default:
			out.ExtraArgs = append(out.ExtraArgs, args[i:]...)
			return
		}
	}
}
