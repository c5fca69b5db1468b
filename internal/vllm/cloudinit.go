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
// The AWS backend sends the cloud-init compressed (AWSUserData), so the limit applies to that.
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
	if _, err := AWSUserData(out); err != nil {
		return "", fmt.Errorf("rendering cloud-init for %s: %w", endpoint, err)
	}
	return out, nil
}

// AWSUserData is cloud-init user data as the AWS backend sends it: gzip-compressed, which
// cloud-init recognises by its magic bytes and decompresses. The files in it are already
// gzip+base64; compressing the whole gains back most of base64's third (about 25%), the headroom
// under EC2's 16 KiB that the script and the spec grow into. It fails when even that is too big.
func AWSUserData(cloudInit string) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(cloudInit)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > MaxAWSUserData {
		return nil, fmt.Errorf("the user data is %d bytes compressed, more than the %d EC2 takes", buf.Len(), MaxAWSUserData)
	}
	return buf.Bytes(), nil
}

// ReadUserData returns the cloud-init text of user data, decompressing what AWSUserData
// compressed; plain user data passes through.
func ReadUserData(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return string(raw), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("decompressing the user data: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		return "", fmt.Errorf("decompressing the user data: %w", err)
	}
	return string(out), nil
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
