package litellm

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Role is what a key may do.
type Role string

// Roles of keys (LiteLLM's LitellmUserRoles values).
const (
	RoleProxyAdmin       Role = "proxy_admin"
	RoleProxyAdminViewer Role = "proxy_admin_viewer"
	RoleInternalUser     Role = "internal_user"
)

// InfoShape is how GET /model/info?litellm_model_id= wraps the one deployment it finds.
type InfoShape int

const (
	// InfoShapeList answers {"data": [deployment]}, as newer LiteLLM versions do (the default).
	InfoShapeList InfoShape = iota
	// InfoShapeObject answers {"data": deployment}, as older versions do.
	InfoShapeObject
)

// Stored is a deployment as the stand-in's database (or config file) holds it, with plain
// (decrypted) values: what a CheckDestroy or a test of what was sent looks at.
type Stored struct {
	ID            string
	ModelName     string
	LiteLLMParams map[string]any
	ModelInfo     map[string]any
	// DBModel is false for a config-file model (AddConfigModel).
	DBModel              bool
	Blocked              bool
	CreatedAt, UpdatedAt time.Time
	CreatedBy, UpdatedBy string

	// hiddenReads is how many more /model/info lookups miss it (SetRouterLag).
	hiddenReads int
}

func (s Stored) clone() Stored {
	s.LiteLLMParams = cloneMap(s.LiteLLMParams)
	s.ModelInfo = cloneMap(s.ModelInfo)
	return s
}

// Failure makes the stand-in answer Count requests with Status before doing anything else.
type Failure struct {
	// Path limits the failures to requests for this path ("" means any path).
	Path string
	// Status is the HTTP status to answer, e.g. 429 or 503.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header (seconds, or an HTTP date).
	RetryAfter string
	Count      int
}

// Handler is the stand-in: an http.Handler with test controls. It is safe for concurrent use.
type Handler struct {
	masterKey string

	mu          sync.Mutex
	keys        map[string]Role
	models      map[string]*Stored // the DB table, by model_id
	config      map[string]*Stored // config-file models, by model_info.id
	fallbacks   map[string][]map[string][]string
	noDB        bool
	noStore     bool
	lag         int
	shape       InfoShape
	failures    []*Failure
	requests    map[string]int
	lastHeaders map[string]http.Header

	mux *http.ServeMux
}

// NewHandler returns a stand-in whose master key is masterKey, with a database and
// STORE_MODEL_IN_DB=True.
func NewHandler(masterKey string) *Handler {
	h := &Handler{
		masterKey:   masterKey,
		keys:        map[string]Role{},
		models:      map[string]*Stored{},
		config:      map[string]*Stored{},
		fallbacks:   map[string][]map[string][]string{},
		requests:    map[string]int{},
		lastHeaders: map[string]http.Header{},
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /health/liveliness", h.alive)
	m.HandleFunc("GET /health/liveness", h.alive)
	m.HandleFunc("GET /health/readiness", h.readiness)
	m.HandleFunc("POST /model/new", h.authed(h.modelNew))
	m.HandleFunc("POST /model/update", h.authed(h.modelUpdate))
	m.HandleFunc("PATCH /model/{id}/update", h.authed(h.modelPatch))
	m.HandleFunc("POST /model/delete", h.authed(h.modelDelete))
	m.HandleFunc("POST /model/block", h.authed(h.modelBlock(true)))
	m.HandleFunc("POST /model/unblock", h.authed(h.modelBlock(false)))
	m.HandleFunc("GET /model/info", h.authed(h.modelInfo))
	m.HandleFunc("GET /v1/model/info", h.authed(h.modelInfo))
	m.HandleFunc("GET /v1/models", h.authed(h.modelList))
	m.HandleFunc("GET /models", h.authed(h.modelList))
	m.HandleFunc("POST /fallback", h.authed(h.fallbackCreate))
	m.HandleFunc("GET /fallback/{model}", h.authed(h.fallbackGet))
	m.HandleFunc("DELETE /fallback/{model}", h.authed(h.fallbackDelete))
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
	})
	h.mux = m
	return h
}

// ServeHTTP counts the request, answers an injected failure if one is due, then serves it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests[r.URL.Path]++
	h.lastHeaders[r.URL.Path] = r.Header.Clone()
	var fail *Failure
	for _, f := range h.failures {
		if f.Count > 0 && (f.Path == "" || f.Path == r.URL.Path) {
			f.Count--
			fail = f
			break
		}
	}
	h.mu.Unlock()
	if fail != nil {
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		proxyError(w, fail.Status, "None", "stand-in: injected failure "+strconv.Itoa(fail.Status))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// --- test controls ---------------------------------------------------------------------------

// Deployments lists the deployments of the database (not config-file models), sorted by id.
func (h *Handler) Deployments() []Stored {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Stored, 0, len(h.models))
	for _, s := range h.models {
		out = append(out, s.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Deployment returns the stored deployment with id id (database or config file).
func (h *Handler) Deployment(id string) (Stored, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.models[id]; ok {
		return s.clone(), true
	}
	if s, ok := h.config[id]; ok {
		return s.clone(), true
	}
	return Stored{}, false
}

// DeleteDeployment removes a deployment from the database behind the client's back; false when
// there was none.
func (h *Handler) DeleteDeployment(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.models[id]
	delete(h.models, id)
	return ok
}

// ChangeDeployment changes a stored deployment behind the client's back (drift); false when
// there is none.
func (h *Handler) ChangeDeployment(id string, change func(*Stored)) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.models[id]
	if !ok {
		return false
	}
	change(s)
	s.UpdatedAt = time.Now().UTC()
	return true
}

// AddConfigModel adds a model as if it came from the proxy's config.yaml: served and readable,
// but the model API cannot change or delete it. s.ID is its model_info.id.
func (h *Handler) AddConfigModel(s Stored) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := s.clone()
	if c.LiteLLMParams == nil {
		c.LiteLLMParams = map[string]any{}
	}
	if c.ModelInfo == nil {
		c.ModelInfo = map[string]any{}
	}
	c.ModelInfo["id"] = c.ID
	c.DBModel = false
	h.config[c.ID] = &c
}

// AddKey makes key a valid virtual key with role.
func (h *Handler) AddKey(key string, role Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keys[key] = role
}

// SetDatabase connects or disconnects the database (DATABASE_URL set or not).
func (h *Handler) SetDatabase(connected bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noDB = !connected
}

// SetStoreModelInDB sets STORE_MODEL_IN_DB.
func (h *Handler) SetStoreModelInDB(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noStore = !on
}

// SetInfoShape chooses how GET /model/info?litellm_model_id= wraps its answer.
func (h *Handler) SetInfoShape(s InfoShape) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shape = s
}

// SetRouterLag makes every deployment created from now on miss from the router for the next
// reads requests to /model/info or /fallback (GET /model/info?litellm_model_id= answers 404,
// lists leave it out, POST /fallback does not know its name), as on a proxy instance that has
// not yet polled the database after another instance added the model.
func (h *Handler) SetRouterLag(reads int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lag = reads
}

// InjectFailures makes the next f.Count requests (for f.Path, or any) answer f.Status.
func (h *Handler) InjectFailures(f Failure) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, &f)
}

// Requests counts the requests for path (without the query), failed ones included.
func (h *Handler) Requests(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[path]
}

// LastHeaders returns the headers of the last request for path (nil if none).
func (h *Handler) LastHeaders(path string) http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastHeaders[path].Clone()
}

// Fallbacks returns the general fallbacks router_settings holds for model (nil if none).
func (h *Handler) Fallbacks(model string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.fallbacks["fallbacks"] {
		if f, ok := e[model]; ok {
			return slices.Clone(f)
		}
	}
	return nil
}

// --- auth ------------------------------------------------------------------------------------

type handlerFunc func(w http.ResponseWriter, r *http.Request, role Role)

// authed checks the key the way user_api_key_auth does and passes its role on.
func (h *Handler) authed(next handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, malformed := "", false
		if v := r.Header.Get("Authorization"); v != "" {
			if k, ok := strings.CutPrefix(v, "Bearer "); ok {
				key = strings.TrimSpace(k)
			} else {
				malformed = true
			}
		}
		if key == "" && !malformed {
			for _, name := range []string{"x-litellm-api-key", "API-Key", "x-api-key", "x-goog-api-key", "Ocp-Apim-Subscription-Key"} {
				if v := r.Header.Get(name); v != "" {
					key = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
					break
				}
			}
		}
		switch {
		case malformed:
			proxyError(w, http.StatusUnauthorized, "auth_error", "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.")
			return
		case key == "":
			proxyError(w, http.StatusUnauthorized, "auth_error", "Authentication Error, No api key passed in.")
			return
		}
		role := RoleProxyAdmin
		if key != h.masterKey {
			h.mu.Lock()
			r2, ok := h.keys[key]
			h.mu.Unlock()
			if !ok {
				sum := sha256.Sum256([]byte(key))
				proxyError(w, http.StatusUnauthorized, "auth_error", "Authentication Error, Invalid proxy server token passed. Received API Key (hashed)="+
					hex.EncodeToString(sum[:])+". Unable to find token in cache or `LiteLLM_VerificationTokenTable`")
				return
			}
			role = r2
		}
		next(w, r, role)
	}
}

func forbidden(w http.ResponseWriter, role Role) {
	proxyError(w, http.StatusForbidden, "auth_error", fmt.Sprintf(
		"Authentication Error, User does not have permission to make this model call. Your role=%s. Only PROXY_ADMIN can add, update or delete models.", role))
}

// --- health ----------------------------------------------------------------------------------

func (h *Handler) alive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, "I'm alive!")
}

func (h *Handler) readiness(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	db := "connected"
	if h.noDB {
		db = "Not connected"
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "healthy", "db": db, "cache": nil, "litellm_version": "stand-in",
		"success_callbacks": []string{},
	})
}

// --- model management ------------------------------------------------------------------------

const (
	msgNoDB    = "No DB Connected. Here's how to do it - https://docs.litellm.ai/docs/proxy/virtual_keys"
	msgNoStore = "Set 'STORE_MODEL_IN_DB='True'' in your env to enable this feature."
)

// pricingFields are litellm_params keys LiteLLM mirrors into model_info, and the ones a PATCH
// may clear with an explicit null (with the two below).
var pricingFields = []string{"input_cost_per_token", "output_cost_per_token", "input_cost_per_second",
	"output_cost_per_second", "input_cost_per_pixel", "output_cost_per_pixel", "cache_creation_input_token_cost",
	"cache_read_input_token_cost"}

var nullClearable = append(slices.Clone(pricingFields), "cache_control_injection_points", "litellm_credential_name")

// integerParams are litellm_params fields pydantic declares as int.
var integerParams = []string{"rpm", "tpm", "itpm", "otpm", "max_retries", "max_parallel_requests"}

func (h *Handler) modelNew(w http.ResponseWriter, r *http.Request, role Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.noDB {
		proxyError(w, http.StatusInternalServerError, "None", msgNoDB)
		return
	}
	body, raw, ok := decodeBody(w, r)
	if !ok {
		return
	}
	name, _ := body["model_name"].(string)
	params, _ := body["litellm_params"].(map[string]any)
	info, _ := body["model_info"].(map[string]any)
	if body["model_name"] == nil {
		validationError(w, raw, "missing", []any{"body", "model_name"}, "Field required")
		return
	}
	if params == nil {
		validationError(w, raw, "missing", []any{"body", "litellm_params"}, "Field required")
		return
	}
	if _, ok := params["model"].(string); !ok {
		validationError(w, raw, "missing", []any{"body", "litellm_params", "model"}, "Field required")
		return
	}
	if !checkIntegers(w, raw, params) {
		return
	}
	if role != RoleProxyAdmin {
		forbidden(w, role)
		return
	}
	if h.noStore {
		proxyError(w, http.StatusInternalServerError, "None", msgNoStore)
		return
	}
	info = cloneMap(info)
	if info == nil {
		info = map[string]any{}
	}
	id, _ := info["id"].(string)
	if id == "" {
		id = newUUID()
	}
	if _, dup := h.models[id]; dup {
		proxyError(w, http.StatusBadRequest, "auth_error", "Authentication Error, Unique constraint failed on the fields: (`model_id`)")
		return
	}
	info["id"] = id
	if team, _ := info["team_id"].(string); team != "" {
		info["team_public_model_name"] = name
		name = fmt.Sprintf("model_name_%s_%s", team, newUUID())
	}
	for _, k := range pricingFields {
		if v, ok := params[k]; ok && v != nil {
			info[k] = v
		}
	}
	now := time.Now().UTC()
	s := &Stored{ID: id, ModelName: name, LiteLLMParams: cloneMap(params), ModelInfo: info, DBModel: true,
		CreatedAt: now, UpdatedAt: now, CreatedBy: string(role), UpdatedBy: string(role), hiddenReads: h.lag}
	h.models[id] = s
	writeJSON(w, http.StatusOK, row(s))
}

func (h *Handler) modelUpdate(w http.ResponseWriter, r *http.Request, role Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.noDB {
		proxyError(w, http.StatusInternalServerError, "None", msgNoDB)
		return
	}
	body, _, ok := decodeBody(w, r)
	if !ok {
		return
	}
	info, _ := body["model_info"].(map[string]any)
	if info == nil {
		proxyError(w, http.StatusBadRequest, "auth_error", "Authentication Error, model_info not provided")
		return
	}
	id, _ := info["id"].(string)
	if id == "" {
		proxyError(w, http.StatusBadRequest, "auth_error", "Authentication Error, model_info.id not provided")
		return
	}
	s, ok := h.models[id]
	if !ok {
		if _, inConfig := h.config[id]; inConfig {
			proxyError(w, http.StatusBadRequest, "auth_error", "Can't edit model. Model in config. Store model in db via `/model/new`. to edit.")
			return
		}
		proxyError(w, http.StatusBadRequest, "auth_error", "Authentication Error, model not found")
		return
	}
	if role != RoleProxyAdmin {
		forbidden(w, role)
		return
	}
	params, _ := body["litellm_params"].(map[string]any)
	if params == nil {
		proxyError(w, http.StatusBadRequest, "auth_error", "Authentication Error, litellm_params not provided")
		return
	}
	// Keys sent as null keep the stored value; model_info in the body is not merged.
	for k, v := range params {
		if v != nil {
			s.LiteLLMParams[k] = v
		}
	}
	if name, ok := body["model_name"].(string); ok && name != "" && s.ModelInfo["team_id"] == nil {
		s.ModelName = name
	}
	s.UpdatedAt, s.UpdatedBy = time.Now().UTC(), string(role)
	writeJSON(w, http.StatusOK, row(s))
}

func (h *Handler) modelPatch(w http.ResponseWriter, r *http.Request, role Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := r.PathValue("id")
	if h.noDB {
		proxyError(w, http.StatusInternalServerError, "None", "db_not_connected_error")
		return
	}
	if h.noStore {
		proxyError(w, http.StatusBadRequest, "None", "Model updates only supported for DB-stored models")
		return
	}
	body, _, ok := decodeBody(w, r)
	if !ok {
		return
	}
	s, ok := h.models[id]
	if !ok {
		if _, inConfig := h.config[id]; inConfig {
			proxyError(w, http.StatusBadRequest, "None", "Cannot edit config-based model. Store model in DB via /model/new first.")
			return
		}
		proxyError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("Model %s not found on proxy.", id))
		return
	}
	if role != RoleProxyAdmin {
		forbidden(w, role)
		return
	}
	if params, ok := body["litellm_params"].(map[string]any); ok {
		mergePatch(s.LiteLLMParams, params)
	}
	if info, ok := body["model_info"].(map[string]any); ok {
		info = cloneMap(info)
		delete(info, "id")
		mergePatch(s.ModelInfo, info)
	}
	if name, ok := body["model_name"].(string); ok && name != "" {
		s.ModelName = name
	}
	if b, ok := body["blocked"].(bool); ok {
		s.Blocked = b
	}
	s.UpdatedAt, s.UpdatedBy = time.Now().UTC(), string(role)
	writeJSON(w, http.StatusOK, row(s))
}

// mergePatch merges src over dst: null clears only the clearable keys, else keeps the stored value.
func mergePatch(dst, src map[string]any) {
	for k, v := range src {
		switch {
		case v != nil:
			dst[k] = v
		case slices.Contains(nullClearable, k):
			delete(dst, k)
		}
	}
}

func (h *Handler) modelDelete(w http.ResponseWriter, r *http.Request, role Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.noDB {
		proxyError(w, http.StatusInternalServerError, "None", msgNoDB)
		return
	}
	body, raw, ok := decodeBody(w, r)
	if !ok {
		return
	}
	id, _ := body["id"].(string)
	if id == "" {
		validationError(w, raw, "missing", []any{"body", "id"}, "Field required")
		return
	}
	if role != RoleProxyAdmin {
		forbidden(w, role)
		return
	}
	if h.noStore {
		proxyError(w, http.StatusInternalServerError, "None", msgNoStore)
		return
	}
	if _, ok := h.models[id]; !ok {
		proxyError(w, http.StatusBadRequest, "bad_request_error", fmt.Sprintf("Model with id=%s not found in db", id))
		return
	}
	delete(h.models, id)
	writeJSON(w, http.StatusOK, map[string]any{"message": fmt.Sprintf("Model: %s deleted successfully", id)})
}

func (h *Handler) modelBlock(blocked bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, role Role) {
		h.mu.Lock()
		defer h.mu.Unlock()
		body, raw, ok := decodeBody(w, r)
		if !ok {
			return
		}
		id, _ := body["model_id"].(string)
		if id == "" {
			validationError(w, raw, "missing", []any{"body", "model_id"}, "Field required")
			return
		}
		if role != RoleProxyAdmin {
			forbidden(w, role)
			return
		}
		s, ok := h.models[id]
		if !ok {
			proxyError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("Model %s not found on proxy.", id))
			return
		}
		s.Blocked = blocked
		writeJSON(w, http.StatusOK, row(s))
	}
}

// modelInfo answers from "the router": database and config-file models.
func (h *Handler) modelInfo(w http.ResponseWriter, r *http.Request, _ Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.tick()
	id := r.URL.Query().Get("litellm_model_id")
	if id == "" {
		out := []any{}
		for _, s := range h.served() {
			out = append(out, infoItem(s))
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": out})
		return
	}
	s, ok := h.models[id]
	if ok && s.hiddenReads > 0 {
		ok = false
	}
	if !ok {
		s, ok = h.config[id]
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Model id = %s not found on litellm proxy", id)})
		return
	}
	if h.shape == InfoShapeObject {
		writeJSON(w, http.StatusOK, map[string]any{"data": infoItem(s)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": []any{infoItem(s)}})
}

func (h *Handler) modelList(w http.ResponseWriter, _ *http.Request, _ Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var data []any
	for _, name := range h.modelNames() {
		data = append(data, map[string]any{"id": name, "object": "model", "created": 1677610602, "owned_by": "openai"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "object": "list"})
}

// tick lets the router catch up by one request (SetRouterLag).
func (h *Handler) tick() {
	for _, s := range h.models {
		if s.hiddenReads > 0 {
			s.hiddenReads--
		}
	}
}

// served lists the models the router knows, from the database and the config file, sorted by id.
func (h *Handler) served() []*Stored {
	var out []*Stored
	for _, s := range h.models {
		if s.hiddenReads == 0 {
			out = append(out, s)
		}
	}
	out = append(out, slices.Collect(maps.Values(h.config))...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// modelNames are the router's model names (public names of team models included), sorted.
func (h *Handler) modelNames() []string {
	set := map[string]bool{}
	for _, s := range h.served() {
		set[s.ModelName] = true
		if p, ok := s.ModelInfo["team_public_model_name"].(string); ok {
			set[p] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// --- fallbacks -------------------------------------------------------------------------------

var fallbackKeys = map[string]string{"general": "fallbacks", "context_window": "context_window_fallbacks", "content_policy": "content_policy_fallbacks"}

func (h *Handler) fallbackCreate(w http.ResponseWriter, r *http.Request, _ Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.tick()
	body, raw, ok := decodeBody(w, r)
	if !ok {
		return
	}
	model, _ := body["model"].(string)
	if model == "" {
		validationError(w, raw, "missing", []any{"body", "model"}, "Field required")
		return
	}
	list := asStrings(body["fallback_models"])
	if len(list) == 0 {
		validationError(w, raw, "too_short", []any{"body", "fallback_models"}, "List should have at least 1 item after validation, not 0")
		return
	}
	ftype, _ := body["fallback_type"].(string)
	if ftype == "" {
		ftype = "general"
	}
	key, ok := fallbackKeys[ftype]
	if !ok {
		validationError(w, raw, "literal_error", []any{"body", "fallback_type"}, "Input should be 'general', 'context_window' or 'content_policy'")
		return
	}
	names := h.modelNames()
	if !slices.Contains(names, model) {
		detailError(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("Model '%s' not found in router", model), "available_models": names})
		return
	}
	var invalid []string
	for _, f := range list {
		if !slices.Contains(names, f) {
			invalid = append(invalid, f)
		}
	}
	if len(invalid) > 0 {
		detailError(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("Invalid fallback models: %s", pyList(invalid)), "available_models": names})
		return
	}
	if slices.Contains(list, model) {
		detailError(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("Model '%s' cannot be its own fallback", model)})
		return
	}
	if h.noDB || h.noStore {
		detailError(w, http.StatusBadRequest, map[string]any{"error": "Database storage not enabled. Set 'STORE_MODEL_IN_DB=True' in your environment to use this feature."})
		return
	}
	updated := false
	for _, e := range h.fallbacks[key] {
		if _, ok := e[model]; ok {
			e[model] = list
			updated = true
		}
	}
	if !updated {
		h.fallbacks[key] = append(h.fallbacks[key], map[string][]string{model: list})
	}
	verb := "created"
	if updated {
		verb = "updated"
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": model, "fallback_models": list, "fallback_type": ftype,
		"message": "Fallback configuration " + verb + " successfully"})
}

func (h *Handler) fallbackType(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	ftype := r.URL.Query().Get("fallback_type")
	if ftype == "" {
		ftype = "general"
	}
	key, ok := fallbackKeys[ftype]
	if !ok {
		validationError(w, nil, "literal_error", []any{"query", "fallback_type"}, "Input should be 'general', 'context_window' or 'content_policy'")
	}
	return ftype, key, ok
}

func (h *Handler) fallbackGet(w http.ResponseWriter, r *http.Request, _ Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.tick()
	model := r.PathValue("model")
	ftype, key, ok := h.fallbackType(w, r)
	if !ok {
		return
	}
	if strings.Contains(model, "/") { // Starlette routes on the decoded path: {model} never holds '/'
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
		return
	}
	for _, e := range h.fallbacks[key] {
		if f, ok := e[model]; ok && len(f) > 0 {
			writeJSON(w, http.StatusOK, map[string]any{"model": model, "fallback_models": f, "fallback_type": ftype})
			return
		}
	}
	detailError(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("No %s fallbacks configured for model '%s'", ftype, model)})
}

func (h *Handler) fallbackDelete(w http.ResponseWriter, r *http.Request, _ Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.tick()
	model := r.PathValue("model")
	ftype, key, ok := h.fallbackType(w, r)
	if !ok {
		return
	}
	if strings.Contains(model, "/") {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
		return
	}
	if h.noDB || h.noStore {
		detailError(w, http.StatusBadRequest, map[string]any{"error": "Database storage not enabled. Set 'STORE_MODEL_IN_DB=True' in your environment to use this feature."})
		return
	}
	var kept []map[string][]string
	found := false
	for _, e := range h.fallbacks[key] {
		if _, ok := e[model]; ok {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	if !found {
		detailError(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("No %s fallbacks configured for model '%s'", ftype, model)})
		return
	}
	h.fallbacks[key] = kept
	writeJSON(w, http.StatusOK, map[string]any{"model": model, "fallback_type": ftype, "message": "Fallback configuration deleted successfully"})
}

// --- answers ---------------------------------------------------------------------------------

// row is the LiteLLM_ProxyModelTable row the write endpoints answer: litellm_params encrypted.
func row(s *Stored) map[string]any {
	enc := make(map[string]any, len(s.LiteLLMParams))
	for k, v := range s.LiteLLMParams {
		enc[k] = encrypt(v)
	}
	out := map[string]any{
		"model_id":       s.ID,
		"model_name":     s.ModelName,
		"litellm_params": enc,
		"model_info":     cloneMap(s.ModelInfo),
		"created_at":     s.CreatedAt.Format(time.RFC3339Nano),
		"created_by":     s.CreatedBy,
		"updated_at":     s.UpdatedAt.Format(time.RFC3339Nano),
		"updated_by":     s.UpdatedBy,
	}
	if s.Blocked {
		out["blocked"] = true
	}
	return out
}

// removedOnRead are the credentials remove_sensitive_info_from_deployment pops.
var removedOnRead = []string{"api_key", "client_secret", "vertex_credentials", "vertex_ai_credentials",
	"aws_access_key_id", "aws_secret_access_key"}

// litellmParamDefaults are fields a read shows though nobody set them.
var litellmParamDefaults = map[string]any{"use_in_pass_through": false, "use_litellm_proxy": false,
	"merge_reasoning_content_in_choices": false}

// infoItem is a deployment as /model/info shows it: credentials removed or masked, defaults
// added, the timeout as a float, model_info with db_model and the provider.
func infoItem(s *Stored) map[string]any {
	params := map[string]any{}
	maps.Copy(params, litellmParamDefaults)
	for k, v := range s.LiteLLMParams {
		switch {
		case slices.Contains(removedOnRead, k):
		case isSensitiveKey(k):
			params[k] = mask(v)
		case k == "timeout":
			params[k] = asFloatJSON(v)
		default:
			params[k] = v
		}
	}
	info := cloneMap(s.ModelInfo)
	info["id"] = s.ID
	info["db_model"] = s.DBModel
	if m, ok := s.LiteLLMParams["model"].(string); ok {
		if prefix, _, ok := strings.Cut(m, "/"); ok {
			info["litellm_provider"] = prefix
		}
	}
	return map[string]any{"model_name": s.ModelName, "litellm_params": params, "model_info": info}
}

func isSensitiveKey(k string) bool {
	for _, part := range strings.Split(strings.ToLower(k), "_") {
		switch part {
		case "key", "secret", "token", "password", "credential", "credentials":
			return true
		}
	}
	return false
}

func mask(v any) any {
	s, ok := v.(string)
	if !ok || len(s) < 8 {
		return "****"
	}
	return s[:2] + "****" + s[len(s)-2:]
}

// asFloatJSON writes a whole number with ".0", as Python serialises a float.
func asFloatJSON(v any) any {
	if i, ok := v.(int64); ok {
		v = float64(i)
	}
	if f, ok := v.(float64); ok {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return json.Number(s)
	}
	return v
}

func encrypt(v any) string {
	b, _ := json.Marshal(v)
	nonce := make([]byte, 24)
	_, _ = rand.Read(nonce)
	for i := range b {
		b[i] ^= nonce[i%len(nonce)]
	}
	return base64.URLEncoding.EncodeToString(append(nonce, b...))
}

func proxyError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": "None", "code": strconv.Itoa(status),
	}})
}

func detailError(w http.ResponseWriter, status int, detail any) {
	writeJSON(w, status, map[string]any{"detail": detail})
}

// validationError is FastAPI's 422; like FastAPI it echoes the input it judged.
func validationError(w http.ResponseWriter, input any, typ string, loc []any, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []any{map[string]any{
		"type": typ, "loc": loc, "msg": msg, "input": input,
	}}})
}

// decodeBody reads a JSON object body; raw is the whole body as decoded (for 422 echoes).
func decodeBody(w http.ResponseWriter, r *http.Request) (map[string]any, any, bool) {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		validationError(w, nil, "json_invalid", []any{"body", 0}, "JSON decode error: "+err.Error())
		return nil, nil, false
	}
	body, ok := normalize(raw).(map[string]any)
	if !ok {
		validationError(w, raw, "model_attributes_type", []any{"body"}, "Input should be a valid dictionary or object to extract fields from")
		return nil, nil, false
	}
	return body, raw, true
}

// normalize turns json.Numbers into int64 or float64.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// checkIntegers rejects non-integral values of int fields with FastAPI's 422, and coerces
// numeric strings and whole floats as pydantic does.
func checkIntegers(w http.ResponseWriter, raw any, params map[string]any) bool {
	for _, k := range integerParams {
		v, ok := params[k]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case int64:
		case float64:
			if x != float64(int64(x)) {
				validationError(w, raw, "int_from_float", []any{"body", "litellm_params", k}, "Input should be a valid integer, got a number with a fractional part")
				return false
			}
			params[k] = int64(x)
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				validationError(w, raw, "int_parsing", []any{"body", "litellm_params", k}, "Input should be a valid integer, unable to parse string as an integer")
				return false
			}
			params[k] = i
		default:
			validationError(w, raw, "int_type", []any{"body", "litellm_params", k}, "Input should be a valid integer")
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			out[k] = cloneMap(x)
		case []any:
			out[k] = slices.Clone(x)
		default:
			out[k] = v
		}
	}
	return out
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
