package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/wait"
)

// Gateway manages deployments and fallbacks in an LLM gateway. Implementations retry throttling
// and transient faults themselves, and never return or log a secret.
type Gateway interface {
	// Create registers d. It is idempotent: when a deployment with d.ID exists already (left by
	// an earlier, interrupted apply), it is brought to d instead.
	Create(ctx context.Context, d Deployment) error
	// Read returns the deployment with model_info.id id, as the gateway serves it, without its
	// secrets. A deployment that does not exist gives an error for which IsNotFound is true.
	Read(ctx context.Context, id string) (*Deployment, error)
	// Update brings the deployment prior.ID from prior (as it is, e.g. from state) to desired.
	// It sends only what changed. A key that desired drops cannot be removed by the gateway's
	// merging update, so then the deployment is deleted and created again under the same id.
	// A deployment that does not exist gives an error for which IsNotFound is true.
	Update(ctx context.Context, prior, desired Deployment) error
	// Delete removes the deployment with id id; one that does not exist is not an error.
	Delete(ctx context.Context, id string) error

	// Fallbacks returns the model names the router falls back to when modelName fails (nil when
	// none are set).
	Fallbacks(ctx context.Context, modelName string) ([]string, error)
	// SetFallbacks sets them; an empty list removes them (removing none is not an error).
	SetFallbacks(ctx context.Context, modelName string, fallbacks []string) error
}

// Sentinel errors that gateway clients wrap, so callers can test with errors.Is.
var (
	// ErrNotFound: the deployment (or fallback setting) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the gateway rejected the key.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the key is valid but may not manage models (not a proxy admin).
	ErrForbidden = errors.New("forbidden")
	// ErrNoDatabase: the gateway keeps no models in a database (no DATABASE_URL, or
	// STORE_MODEL_IN_DB unset), so its model API cannot change anything. Use a rendered config
	// file instead, or give the gateway a database.
	ErrNoDatabase = errors.New("gateway has no model database")
	// ErrConfigModel: the deployment comes from the gateway's config file and the model API
	// cannot change or delete it.
	ErrConfigModel = errors.New("deployment is defined in the gateway's config file")
	// ErrUnsupported: the gateway lacks the endpoint (an older LiteLLM version).
	ErrUnsupported = errors.New("not supported by this gateway version")
	// ErrUnavailable: the gateway kept failing (429, 5xx) or could not be reached after every retry.
	ErrUnavailable = errors.New("gateway unavailable")
	// ErrInvalid: the gateway rejected the request as invalid.
	ErrInvalid = errors.New("invalid request")
)

// IsNotFound reports whether err means the deployment is gone.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// CreateRoute registers every deployment of r, then its fallbacks. Deployment ids are fixed in
// advance (DeploymentID), so a caller can record r.ID before calling: a failure part way leaves
// deployments that a later UpdateRoute or DeleteRoute finds again.
func CreateRoute(ctx context.Context, g Gateway, r Route) error {
	for _, d := range r.Deployments() {
		if err := g.Create(ctx, d); err != nil {
			return fmt.Errorf("creating route %s: %w", r.ID, err)
		}
	}
	if len(r.Fallbacks) > 0 {
		if err := g.SetFallbacks(ctx, r.ModelName, r.Fallbacks); err != nil {
			return fmt.Errorf("setting fallbacks of route %s (model %q): %w", r.ID, r.ModelName, err)
		}
	}
	return nil
}

// ReadRoute reads route id back from the gateway: its primary deployment, the replicas the
// primary says it has (a replica deleted behind our back is left out, so its URL shows as drift),
// and the fallbacks of its model name. Secrets are not read back. A route whose primary
// deployment is gone gives an error for which IsNotFound is true.
func ReadRoute(ctx context.Context, g Gateway, id string) (*Route, error) {
	primary, err := g.Read(ctx, DeploymentID(id, 0))
	if err != nil {
		return nil, fmt.Errorf("reading route %s: %w", id, err)
	}
	ds := []Deployment{*primary}
	for i := 1; i < primary.Replicas; i++ {
		d, err := g.Read(ctx, DeploymentID(id, i))
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading route %s: %w", id, err)
		}
		ds = append(ds, *d)
	}
	r := RouteFromDeployments(ds)
	r.ID = id
	fb, err := g.Fallbacks(ctx, r.ModelName)
	if err != nil && !errors.Is(err, ErrUnsupported) {
		return nil, fmt.Errorf("reading fallbacks of route %s (model %q): %w", id, r.ModelName, err)
	}
	r.Fallbacks = fb
	return &r, nil
}

// UpdateRoute brings route prior (as in state) to desired: deployments are updated in place by
// position, missing ones created, surplus ones deleted; fallbacks are set when they or the
// model name changed. prior.ID and desired.ID must be equal.
func UpdateRoute(ctx context.Context, g Gateway, prior, desired Route) error {
	if prior.ID != desired.ID {
		return fmt.Errorf("updating route %s: the id cannot change to %s (replace the route instead)", prior.ID, desired.ID)
	}
	renamed := prior.ModelName != desired.ModelName
	if renamed && len(prior.Fallbacks) > 0 {
		if err := g.SetFallbacks(ctx, prior.ModelName, nil); err != nil {
			return fmt.Errorf("removing fallbacks of route %s (model %q): %w", prior.ID, prior.ModelName, err)
		}
	}
	pd, dd := prior.Deployments(), desired.Deployments()
	for i, d := range dd {
		var err error
		if i < len(pd) {
			err = g.Update(ctx, pd[i], d)
			if IsNotFound(err) {
				err = g.Create(ctx, d)
			}
		} else {
			err = g.Create(ctx, d)
		}
		if err != nil {
			return fmt.Errorf("updating route %s: %w", desired.ID, err)
		}
	}
	for i := len(pd) - 1; i >= len(dd); i-- {
		if err := g.Delete(ctx, pd[i].ID); err != nil {
			return fmt.Errorf("updating route %s: %w", desired.ID, err)
		}
	}
	if renamed || !slices.Equal(prior.Fallbacks, desired.Fallbacks) {
		if len(desired.Fallbacks) > 0 || len(prior.Fallbacks) > 0 && !renamed {
			if err := g.SetFallbacks(ctx, desired.ModelName, desired.Fallbacks); err != nil {
				return fmt.Errorf("setting fallbacks of route %s (model %q): %w", desired.ID, desired.ModelName, err)
			}
		}
	}
	return nil
}

// DeleteRoute removes route r (as in state): its fallbacks first (LiteLLM only accepts fallback
// changes for model names its router knows), then its replicas, then its primary deployment
// last, so that a failure part way leaves the primary, which still lists the replicas. Replicas
// the primary records beyond those of r are removed too. What is already gone is not an error.
func DeleteRoute(ctx context.Context, g Gateway, r Route) error {
	if len(r.Fallbacks) > 0 {
		if err := g.SetFallbacks(ctx, r.ModelName, nil); err != nil {
			return fmt.Errorf("removing fallbacks of route %s (model %q): %w", r.ID, r.ModelName, err)
		}
	}
	n := max(len(r.Deployments()), 1)
	primary, err := g.Read(ctx, DeploymentID(r.ID, 0))
	switch {
	case err == nil && primary.Replicas > n:
		n = primary.Replicas
	case err != nil && !IsNotFound(err):
		return fmt.Errorf("deleting route %s: %w", r.ID, err)
	}
	for i := n - 1; i >= 0; i-- {
		if err := g.Delete(ctx, DeploymentID(r.ID, i)); err != nil {
			return fmt.Errorf("deleting route %s: %w", r.ID, err)
		}
	}
	return nil
}

// WaitRoute polls ReadRoute every interval until route id can be read, and returns it. A LiteLLM
// proxy serves reads from its in-memory router: a model added through one proxy instance reaches
// the others at their next database poll. Not-found answers are waited out until ctx ends (then
// the last error is returned); any other error ends the wait at once.
func WaitRoute(ctx context.Context, g Gateway, id string, interval time.Duration) (*Route, error) {
	var r *Route
	err := wait.Until(ctx, interval, "route "+id+" to be served", func(ctx context.Context) (bool, error, error) {
		got, err := ReadRoute(ctx, g, id)
		switch {
		case err == nil:
			r = got
			return true, nil, nil
		case IsNotFound(err):
			return false, err, nil
		}
		return false, nil, err
	})
	return r, err
}

// WaitRouteGone waits until the gateway no longer serves route id, polling every interval.
func WaitRouteGone(ctx context.Context, g Gateway, id string, interval time.Duration) error {
	return wait.Until(ctx, interval, "route "+id+" to be withdrawn", func(ctx context.Context) (bool, error, error) {
		_, err := ReadRoute(ctx, g, id)
		switch {
		case IsNotFound(err):
			return true, nil, nil
		case err == nil:
			return false, errors.New("the gateway still serves it"), nil
		}
		return false, nil, err
	})
}
