package vllm

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"regexp"
	"sync"
	"text/template"
)

//go:embed node.sh.tmpl
var nodeScriptTemplate string

// Exit statuses of the node script.
const (
	ExitNotReady = 1 // a replica did not become ready in time or crash-looped, or a step failed
	ExitUsage    = 2 // bad usage, spec or secret
	ExitNoRoom   = 3 // GPUs or ports are taken
	ExitMissing  = 4 // a prerequisite is missing on the node
)

var (
	scriptOnce    sync.Once
	scriptBytes   []byte
	scriptVersion string
	scriptErr     error
)

// NodeScript returns the node script (inferstack-node) and its version, a hash of its content.
func NodeScript() ([]byte, string, error) { return nodeScript() }

func nodeScript() ([]byte, string, error) {
	scriptOnce.Do(func() {
		tmpl, err := template.New("node.sh").Option("missingkey=error").Parse(nodeScriptTemplate)
		if err != nil {
			scriptErr = fmt.Errorf("parsing the node script template: %w", err)
			return
		}
		data := map[string]any{
			"Schema":   SpecSchema,
			"StateDir": StateDir,
			"UnitDir":  UnitDir,
			"EnvDir":   EnvDir,
			"SpecDir":  SpecDir,
			// The node script reports a replica restarted this often while it waits as crash-looping.
			"CrashRestarts": CrashRestarts,
			"Ph": map[string]string{
				"Root":       phRoot,
				"Runtime":    phRuntime,
				"GPUs":       phGPUs,
				"GPUDevices": phGPUDevices,
				"Port":       phPort,
				"Listen":     phListen,
				"Cache":      phCache,
			},
		}
		render := func(version string) ([]byte, error) {
			data["Version"] = version
			var b bytes.Buffer
			if err := tmpl.Execute(&b, data); err != nil {
				return nil, fmt.Errorf("rendering the node script: %w", err)
			}
			return stripComments(b.Bytes()), nil
		}
		unversioned, err := render("")
		if err != nil {
			scriptErr = err
			return
		}
		sum := sha256.Sum256(unversioned)
		scriptVersion = hex.EncodeToString(sum[:6])
		scriptBytes, scriptErr = render(scriptVersion)
	})
	return bytes.Clone(scriptBytes), scriptVersion, scriptErr
}

// commentLine is a line of the node script that holds only a comment.
var commentLine = regexp.MustCompile(`(?m)^[ \t]*#( .*)?\n`)

// stripComments drops the comment lines of the node script but its header (the usage text, up to
// `set -euo pipefail`): the script is sent in EC2 user data, which holds 16 KiB, and its comments
// were a fifth of that compressed. They stay in node.sh.tmpl, the source.
func stripComments(script []byte) []byte {
	head := bytes.Index(script, []byte("\nset -euo pipefail\n"))
	if head < 0 {
		return script
	}
	out := bytes.Clone(script[:head+1])
	return append(out, commentLine.ReplaceAll(script[head+1:], nil)...)
}
