package litellm

import (
	"errors"
	"testing"

	"github.com/inferstack/terraform-provider-inferstack/internal/gateway"
)

func TestMessageAndKind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		msg    string
		kind   error
	}{
		{"proxy exception", 400, `{"error": {"message": "Authentication Error, model not found", "type": "auth_error", "param": "None", "code": "400"}}`,
			"Authentication Error, model not found", gateway.ErrNotFound},
		{"bare error", 404, `{"error": "Model id = x not found on litellm proxy"}`, "Model id = x not found on litellm proxy", gateway.ErrNotFound},
		{"detail error", 400, `{"detail": {"error": "Database storage not enabled. Set 'STORE_MODEL_IN_DB=True' in your environment"}}`,
			"Database storage not enabled. Set 'STORE_MODEL_IN_DB=True' in your environment", gateway.ErrNoDatabase},
		{"detail string: unknown route", 404, `{"detail": "Not Found"}`, "Not Found", gateway.ErrUnsupported},
		{"validation echo dropped", 422, `{"detail": [{"type": "missing", "loc": ["body", "model_name"], "msg": "Field required", "input": {"api_key": "leak"}}]}`,
			"body.model_name: Field required", gateway.ErrInvalid},
		{"no db", 500, `{"error": {"message": "No DB Connected. Here's how to do it", "code": "500"}}`, "No DB Connected. Here's how to do it", gateway.ErrNoDatabase},
		{"config model", 400, `{"error": {"message": "Can't edit model. Model in config. Store model in db via /model/new. to edit."}}`,
			"Can't edit model. Model in config. Store model in db via /model/new. to edit.", gateway.ErrConfigModel},
		{"delete gone", 400, `{"error": {"message": "Model with id=x not found in db"}}`, "Model with id=x not found in db", gateway.ErrNotFound},
		{"unauthorized", 401, `{"error": {"message": "Authentication Error, No api key passed in."}}`, "Authentication Error, No api key passed in.", gateway.ErrUnauthorized},
		{"forbidden", 403, `{"error": {"message": "nope"}}`, "nope", gateway.ErrForbidden},
		{"throttled html", 429, `<html>slow down</html>`, "<html>slow down</html>", gateway.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := messageOf([]byte(tc.body))
			if msg != tc.msg {
				t.Errorf("messageOf = %q, want %q", msg, tc.msg)
			}
			if k := kindOf(tc.status, msg); !errors.Is(k, tc.kind) {
				t.Errorf("kindOf = %v, want %v", k, tc.kind)
			}
		})
	}
}
