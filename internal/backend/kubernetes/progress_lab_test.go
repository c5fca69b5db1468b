package kubernetes_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferstack/terraform-provider-inferstack/internal/acctest"
	"github.com/inferstack/terraform-provider-inferstack/internal/backend"
)

// TestLabEndpointReportsProgress (issue 14): the wait reports ready replicas and pod phases of
// the endpoint's Deployment as they change, through backend.Report, ending at all ready.
func TestLabEndpointReportsProgress(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	id := ensureCluster(t, b, nil)
	name := acctest.TestName("progress")
	var mu sync.Mutex
	var steps []string
	ctx := backend.WithProgress(labContext(t, 3*time.Minute), func(source, message string) {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, source+": "+message)
	})
	if _, err := b.EnsureEndpoint(ctx, endpointSpec(id, name, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitEndpointReady(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.DeleteEndpoint(labContext(t, 2*time.Minute), id, name, backend.DeleteOptions{}) })
	mu.Lock()
	defer mu.Unlock()
	t.Logf("progress: %q", steps)
	if len(steps) == 0 {
		t.Fatal("the wait reported no progress")
	}
	for _, s := range steps {
		if !strings.Contains(s, "Deployment ") || !strings.Contains(s, "/"+name+": ") {
			t.Errorf("a step does not name the endpoint's Deployment: %q", s)
		}
	}
	if last := steps[len(steps)-1]; !strings.Contains(last, ": 2/2 ready") {
		t.Errorf("the last step is %q, want 2/2 ready", last)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i] == steps[i-1] {
			t.Errorf("step %d repeats the one before (%q): only changes are reported", i, steps[i])
		}
	}
}
