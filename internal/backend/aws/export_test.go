package aws

import "time"

// SetPollInterval shortens the waits' poll interval for the acceptance tests (call it from
// TestMain, before tests run).
func SetPollInterval(d time.Duration) { pollInterval = d }
