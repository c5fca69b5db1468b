package vllm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// MaxAWSUserData is the most user data EC2 takes (16 KiB, before base64); Azure takes 64 KiB.
const MaxAWSUserData = 16 * 1024

// cloudInit renders #cloud-config user data that installs the node script and an endpoint's
// spec, and converges at boot. The files are gzip+base64 (the script alone would not fit EC2's
// 16 KiB otherwise). Secrets are not in it: the script reads them from the secret store.
func cloudInit(endpoint string, script, specJSON []byte) (string, error) {
	scriptGz, err := gzipBase64(script)
	if err != nil {
		return "", err
	}
	specGz, err := gzipBase64(specJSON)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("#cloud-config")
	w("# inferstack: a GPU node of endpoint %s. Installs the node script and the endpoint's", endpoint)
	w("# spec and converges at boot; the script reads the secrets from the secret store (none here).")
	w("packages:")
	w("  - curl")
	w("  - jq")
	w("write_files:")
	w("  - path: %s", ScriptPath)
	w("    owner: root:root")
	w("    permissions: '0755'")
	w("    encoding: gz+b64")
	w("    content: %s", scriptGz)
	w("  - path: %s", SpecPath(endpoint))
	w("    owner: root:root")
	w("    permissions: '0600'")
	w("    encoding: gz+b64")
	w("    content: %s", specGz)
	w("runcmd:")
	w("  - [%s, apply, %s]", ScriptPath, SpecPath(endpoint))
	out := b.String()
	if len(out) > MaxAWSUserData {
		return "", fmt.Errorf("rendering cloud-init for %s: the user data is %d bytes, more than the %d EC2 takes", endpoint, len(out), MaxAWSUserData)
	}
	return out, nil
}

// gzipBase64 compresses deterministically (no name, no time) and encodes in base64.
func gzipBase64(data []byte) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// SpecFromCloudInit returns the spec JSON of endpoint from user data that CloudInit rendered
// (the file written to SpecPath(endpoint)), for reading a cloud node's settings back on import.
func SpecFromCloudInit(userData, endpoint string) ([]byte, error) {
	want := "  - path: " + SpecPath(endpoint)
	lines := strings.Split(userData, "\n")
	for i, l := range lines {
		if l != want {
			continue
		}
		for _, c := range lines[i+1:] {
			if strings.HasPrefix(c, "  - ") {
				break
			}
			if b64, ok := strings.CutPrefix(c, "    content: "); ok {
				return gunzipBase64(b64)
			}
		}
	}
	return nil, fmt.Errorf("the user data holds no spec of endpoint %s (%s)", endpoint, SpecPath(endpoint))
}

func gunzipBase64(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("decoding the spec: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decompressing the spec: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("decompressing the spec: %w", err)
	}
	return out, nil
}
