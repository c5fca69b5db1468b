package kubernetes

import "time"

// SetPollInterval shortens the waits' poll interval (lab tests, from TestMain before tests run).
func SetPollInterval(d time.Duration) { pollInterval = d }
