package promlab

import (
	"strings"
	"testing"
)

// Without Prometheus installed, the harness says how to install it.
func TestBinariesMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianBin
	debianBin = t.TempDir()
	t.Cleanup(func() { debianBin = old })
	if _, _, err := Binaries(); err == nil || !strings.Contains(err.Error(), "make peers") {
		t.Fatalf("Binaries() = %v, want an error that says to run make peers", err)
	}
	if _, err := Start("scrape_configs: []\n", t.TempDir()); err == nil || !strings.Contains(err.Error(), "make peers") {
		t.Fatalf("Start = %v, want an error that says to run make peers", err)
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	if err := CheckConfig(t.Context(), "scrape_configs:\n  - job_name: x\n    scrape_interval: 15\n"); err == nil {
		t.Error("promtool accepted a scrape_interval without unit")
	}
	_, err := Start("scrape_configs:\n  - job_name: x\n    scrape_interval: 15\n", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "prometheus exited at start") {
		t.Fatalf("Start = %v, want prometheus to exit on the bad config", err)
	}
}
