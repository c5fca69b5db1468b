package acctest

import (
	"testing"

	"github.com/hashicorp/go-version"
)

func TestParseCLIVersion(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		out, name, ver string
	}{
		"opentofu":  {"OpenTofu v1.12.6\non linux_amd64\n", "OpenTofu", "1.12.6"},
		"terraform": {"Terraform v1.5.7\non linux_amd64\n", "Terraform", "1.5.7"},
		"warning first": {"There are some problems with the CLI configuration:\n\nOpenTofu v1.12.6\non linux_amd64\n",
			"OpenTofu", "1.12.6"},
	}
	for name, c := range cases {
		got, err := parseCLIVersion("x", c.out)
		if err != nil || got.Name != c.name || got.Version.String() != c.ver {
			t.Errorf("%s: got %+v, %v; want %s %s", name, got, err, c.name, c.ver)
		}
	}
	if _, err := parseCLIVersion("x", "something else"); err == nil {
		t.Error("an unknown CLI was accepted")
	}
}

// TestSkipBelowKnowsOpenTofu: the same feature floor is read per CLI, so OpenTofu 1.12.6 runs a
// write-only test and Terraform 1.5.7 skips it.
func TestSkipBelowKnowsOpenTofu(t *testing.T) {
	t.Parallel()
	tofu := CLI{Name: "OpenTofu", Version: version.Must(version.NewVersion("1.12.6"))}
	tf := CLI{Name: "Terraform", Version: version.Must(version.NewVersion("1.5.7"))}
	wo := skipBelow{terraform: "1.11.0", opentofu: "1.11.0"}
	if msg := wo.skip(tofu); msg != "" {
		t.Errorf("OpenTofu 1.12.6 skipped a 1.11 feature: %s", msg)
	}
	if msg := wo.skip(tf); msg == "" {
		t.Error("Terraform 1.5.7 did not skip a 1.11 feature")
	}
	never := skipBelow{terraform: "1.5.0"}
	if msg := never.skip(tofu); msg == "" {
		t.Error("a Terraform-only feature was not skipped on OpenTofu")
	}
}
