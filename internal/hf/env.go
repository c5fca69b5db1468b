package hf

import (
	"os"
	"path/filepath"
	"strings"
)

// Environment variables huggingface_hub (and so vLLM and transformers) reads.
const (
	EnvEndpoint    = "HF_ENDPOINT"
	EnvToken       = "HF_TOKEN"
	EnvTokenLegacy = "HUGGING_FACE_HUB_TOKEN"
	EnvTokenPath   = "HF_TOKEN_PATH"
	EnvHome        = "HF_HOME"
)

// EndpointFromEnv returns HF_ENDPOINT without trailing slashes, or DefaultEndpoint when unset.
func EndpointFromEnv() string {
	if v := strings.TrimRight(strings.TrimSpace(os.Getenv(EnvEndpoint)), "/"); v != "" {
		return v
	}
	return DefaultEndpoint
}

// TokenFromEnv finds a token the way huggingface_hub's get_token does: HF_TOKEN, then
// HUGGING_FACE_HUB_TOKEN, then the token file (HF_TOKEN_PATH, else $HF_HOME/token, else
// $XDG_CACHE_HOME/huggingface/token or ~/.cache/huggingface/token). It returns "" when none is set.
func TokenFromEnv() string {
	for _, k := range []string{EnvToken, EnvTokenLegacy} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	path := os.Getenv(EnvTokenPath)
	if path == "" {
		home := os.Getenv(EnvHome)
		if home == "" {
			cache := os.Getenv("XDG_CACHE_HOME")
			if cache == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return ""
				}
				cache = filepath.Join(h, ".cache")
			}
			home = filepath.Join(cache, "huggingface")
		}
		path = filepath.Join(home, "token")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
