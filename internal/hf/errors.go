package hf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/inferstack/terraform-provider-inferstack/internal/errs"
)

// Sentinel errors. Every error Resolve returns is an *Error that wraps exactly one of them.
var (
	// ErrInvalidID: the model id is not a Hub repository id ("owner/name").
	ErrInvalidID = errors.New("invalid model id")
	// ErrInvalidRevision: the revision cannot be a branch, tag or commit (empty, spaces, control characters).
	ErrInvalidRevision = errors.New("invalid revision")
	// ErrRepoNotFoundOrPrivate: the repository does not exist, or it is private and the token cannot
	// read it. The Hub answers the same for both on purpose.
	ErrRepoNotFoundOrPrivate = errors.New("repository not found or private")
	// ErrRevisionNotFound: the branch, tag or commit does not exist in the repository.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrEntryNotFound: the file (config.json) is not in that revision.
	ErrEntryNotFound = errors.New("file not found in revision")
	// ErrGated: the repository is gated and no token was sent, or the token's account has not been
	// granted access (licence not accepted, or a fine-grained token without gated-repo access).
	ErrGated = errors.New("gated repository")
	// ErrUnauthorized: the Hub rejected the token itself (invalid, revoked or expired).
	ErrUnauthorized = errors.New("invalid token")
	// ErrForbidden: the token is valid but lacks a permission the request needs.
	ErrForbidden = errors.New("access forbidden")
	// ErrDisabled: the Hub has disabled the repository.
	ErrDisabled = errors.New("repository disabled")
	// ErrRateLimited: the Hub kept answering 429 after every retry.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the Hub kept failing (5xx) or could not be reached after every retry.
	ErrUnavailable = errors.New("hub unavailable")
	// ErrInvalidResponse: the Hub answered something this client cannot read.
	ErrInvalidResponse = errors.New("invalid response")
	// ErrUnsupportedModel: config.json lacks what sizing needs (not a transformer LLM vLLM can size).
	ErrUnsupportedModel = errors.New("unsupported model")
)

// Attributes an *Error blames, as the inferstack_hf_model data source calls them.
const (
	AttributeID       = "id"
	AttributeRevision = "revision"
)

// Error is a failed lookup, with a message a Terraform user can act on.
type Error struct {
	// Kind is one of the Err* sentinels; errors.Is(err, hf.ErrGated) tests it.
	Kind error
	// ID and Revision are the model id and revision asked for.
	ID, Revision string
	// URL is the request that failed, when there was one (never holds the token).
	URL string
	// StatusCode is the HTTP status of the last answer (0 when there was none).
	StatusCode int
	// Code is the Hub's X-Error-Code header (RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound).
	Code string
	// Attribute is the input to blame: AttributeID, AttributeRevision, or "" when the problem lies in
	// the provider configuration (token, endpoint) or the Hub itself. When it is set the error is
	// also an input problem: it wraps an *errs.Problem on that attribute with Message as its detail.
	Attribute string
	// Message is the whole user-facing text.
	Message string
	// Err is an underlying cause (a transport error), if any.
	Err error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel, the cause and, when the error blames an attribute, the input
// problem, so that errors.Is works for the first two and errs.Problems finds the third.
func (e *Error) Unwrap() []error {
	out := []error{e.Kind}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.Attribute != "" {
		out = append(out, &errs.Problem{Attribute: e.Attribute, Detail: e.Message})
	}
	return out
}

// IsNotFound reports whether err means the model, its revision or its config.json does not exist
// (or, for a repository, that it is private and out of reach: the Hub does not say which).
func IsNotFound(err error) bool {
	return errors.Is(err, ErrRepoNotFoundOrPrivate) || errors.Is(err, ErrRevisionNotFound) ||
		errors.Is(err, ErrEntryNotFound)
}

// IsGated reports whether err means the model is gated and the token (if any) has no access.
func IsGated(err error) bool { return errors.Is(err, ErrGated) }

// IsTransient reports whether retrying later may succeed: rate limits, Hub outages, network errors
// and cancelled contexts. Such errors are not cached by the Client.
func IsTransient(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable)
}

// tokenHint tells the user where the token comes from.
const tokenHint = `set token in the provider's huggingface block (provider "inferstack" { huggingface { token = ... } }) or the HF_TOKEN environment variable`

func newError(kind error, id, revision, attr string, format string, args ...any) *Error {
	return &Error{Kind: kind, ID: id, Revision: revision, Attribute: attr, Message: fmt.Sprintf(format, args...)}
}

// hubError builds the error for a 4xx/5xx answer, following hf_raise_for_status: X-Error-Code
// decides first, then X-Error-Message, then the status code.
func (c *Client) hubError(id, revision, sha string, step requestStep, a answer) *Error {
	page := c.pageURL(id)
	var e *Error
	switch {
	case a.code == "GatedRepo":
		e = c.gatedError(id, revision, page)
	case a.code == "RepoNotFound" || (a.code == "" && a.status == 401 && step == stepInfo &&
		!strings.Contains(a.message, "Invalid credentials")):
		e = c.notFoundError(id, revision, page)
	case a.code == "RevisionNotFound":
		e = newError(ErrRevisionNotFound, id, revision, AttributeRevision,
			"revision %q of model %q was not found: use a branch (for example \"main\"), a tag, or a full 40-character commit sha listed at %s/commits/main",
			revision, id, page)
	case a.code == "EntryNotFound" || (a.status == 404 && step == stepConfig):
		e = newError(ErrEntryNotFound, id, revision, AttributeRevision,
			"model %q has no config.json at revision %q (commit %s): vLLM needs a transformers config.json; this repository may hold only GGUF files or an adapter. Choose the base model's repository or another revision (files: %s/tree/%s)",
			id, revision, sha, page, sha)
	case strings.Contains(a.message, "Invalid credentials in Authorization header"):
		e = newError(ErrUnauthorized, id, revision, "",
			"the Hugging Face Hub rejected the token (401 Invalid credentials in Authorization header): it is mistyped, revoked or expired. Create a token at %s/settings/tokens and %s",
			c.endpoint, tokenHint)
	case strings.Contains(a.message, "Access to this resource is disabled"):
		e = newError(ErrDisabled, id, revision, AttributeID,
			"model %q has been disabled on the Hugging Face Hub (%d): choose another model", id, a.status)
	case a.status == 401:
		e = c.notFoundError(id, revision, page)
	case a.status == 403:
		e = newError(ErrForbidden, id, revision, "",
			"the Hugging Face Hub refused access to model %q (403%s): the token lacks a permission; a fine-grained token needs read access to this repository (and, for gated models, \"Read access to contents of all public gated repos you can access\"). Edit it at %s/settings/tokens",
			id, detail(a.message), c.endpoint)
	case a.status == 404:
		e = c.notFoundError(id, revision, page)
	case a.status == 429:
		e = newError(ErrRateLimited, id, revision, "",
			"the Hugging Face Hub rate-limited the lookup of model %q (429) after %d attempt(s)%s: run again later; requests with a token get a higher limit (%s)",
			id, a.attempts, waitHint(a), tokenHint)
	case a.status >= 500:
		e = newError(ErrUnavailable, id, revision, "",
			"the Hugging Face Hub at %s answered %d to the lookup of model %q after %d attempt(s)%s: it may be down; run again later, or check HF_ENDPOINT if you use a mirror",
			c.endpoint, a.status, id, a.attempts, detail(a.message))
	default:
		e = newError(ErrInvalidResponse, id, revision, "",
			"the Hugging Face Hub answered %d to the lookup of model %q%s", a.status, id, detail(a.message))
	}
	e.URL, e.StatusCode, e.Code = a.url, a.status, a.code
	return e
}

func (c *Client) gatedError(id, revision, page string) *Error {
	if c.token == "" {
		return newError(ErrGated, id, revision, AttributeID,
			"model %q is gated: reading its config.json needs a Hugging Face token of an account that has accepted the licence, and no token was set. Accept the licence at %s while logged in (some gates wait for the authors' approval), then %s",
			id, page, tokenHint)
	}
	return newError(ErrGated, id, revision, AttributeID,
		"model %q is gated and the token's account has no access: accept the licence at %s while logged in with the account that owns the token (some gates wait for the authors' approval), or use another token (%s). A fine-grained token also needs \"Read access to contents of all public gated repos you can access\"",
		id, page, tokenHint)
}

func (c *Client) notFoundError(id, revision, page string) *Error {
	if c.token == "" {
		return newError(ErrRepoNotFoundOrPrivate, id, revision, AttributeID,
			"model %q was not found, or it is private: the Hugging Face Hub answers 401 to both and does not say which. Check the id (owner/name exactly as in %s); if the repository is private, %s with an account that can read it",
			id, page, tokenHint)
	}
	return newError(ErrRepoNotFoundOrPrivate, id, revision, AttributeID,
		"model %q was not found, or it is private and the token's account cannot read it: the Hugging Face Hub does not say which. Check the id (owner/name exactly as in %s); if the repository is private, use a token of an account with read access (%s)",
		id, page, tokenHint)
}

func detail(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func waitHint(a answer) string {
	if a.retryAfter > 0 {
		return fmt.Sprintf(" (the Hub asked to wait %s)", a.retryAfter)
	}
	return ""
}
