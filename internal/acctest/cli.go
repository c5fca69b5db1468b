package acctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// CLI is the Terraform or OpenTofu binary the acceptance tests run.
type CLI struct {
	Path    string
	Name    string // "OpenTofu" or "Terraform"
	Version *version.Version
}

// IsOpenTofu reports whether the CLI is OpenTofu.
func (c CLI) IsOpenTofu() bool { return c.Name == "OpenTofu" }

func (c CLI) String() string { return fmt.Sprintf("%s v%s", c.Name, c.Version) }

var (
	cliOnce sync.Once
	cli     CLI
	cliErr  error
)

var cliVersionRE = regexp.MustCompile(`(?m)^(OpenTofu|Terraform) v(\S+)`)

// CurrentCLI identifies the binary at TF_ACC_TERRAFORM_PATH by running `version` once.
func CurrentCLI() (CLI, error) {
	cliOnce.Do(func() { cli, cliErr = detectCLI(os.Getenv("TF_ACC_TERRAFORM_PATH")) })
	return cli, cliErr
}

func detectCLI(p string) (CLI, error) {
	if p == "" {
		return CLI{}, errors.New("TF_ACC_TERRAFORM_PATH is not set: run the acceptance tests with `make test` or " +
			"`make testacc`, which build bin/tofu and bin/terraform and set it (and TF_ACC_PROVIDER_NAMESPACE=inferstack)")
	}
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		return CLI{}, errors.New("TF_ACC_PROVIDER_NAMESPACE is not set: set it to inferstack (OpenTofu needs it)")
	}
	cmd := exec.Command(p, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return CLI{}, fmt.Errorf("running %s version: %w", p, err)
	}
	return parseCLIVersion(p, string(out))
}

func parseCLIVersion(p, out string) (CLI, error) {
	m := cliVersionRE.FindStringSubmatch(out)
	if m == nil {
		return CLI{}, fmt.Errorf("%s version printed neither OpenTofu nor Terraform: %q", p, out)
	}
	v, err := version.NewVersion(m[2])
	if err != nil {
		return CLI{}, fmt.Errorf("parsing the version of %s: %w", p, err)
	}
	return CLI{Path: p, Name: m[1], Version: v}, nil
}

// SkipBelow skips a test on CLIs older than the given versions, which may differ between
// Terraform and OpenTofu (e.g. write-only attributes: Terraform 1.11, OpenTofu 1.11). An empty
// version means the CLI never has the feature. Unlike tfversion.SkipBelow it knows which CLI
// runs, since OpenTofu's version numbers are not Terraform's.
func SkipBelow(terraform, opentofu string) tfversion.TerraformVersionCheck {
	return skipBelow{terraform: terraform, opentofu: opentofu}
}

type skipBelow struct{ terraform, opentofu string }

func (s skipBelow) CheckTerraformVersion(_ context.Context, _ tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	c, err := CurrentCLI()
	if err != nil {
		resp.Error = err
		return
	}
	if msg := s.skip(c); msg != "" {
		resp.Skip = msg
	}
}

func (s skipBelow) skip(c CLI) string {
	want := s.terraform
	if c.IsOpenTofu() {
		want = s.opentofu
	}
	if want == "" {
		return fmt.Sprintf("%s does not support this feature", c)
	}
	min := version.Must(version.NewVersion(want))
	if c.Version.Core().LessThan(min) {
		return fmt.Sprintf("%s is below %s %s, which this test needs", c, c.Name, min)
	}
	return ""
}

// Feature versions, for SkipBelow.
var (
	// WriteOnly: write-only attributes and ephemeral values.
	WriteOnly = SkipBelow("1.11.0", "1.11.0")
	// ProviderFunctions: provider-defined functions.
	ProviderFunctions = SkipBelow("1.8.0", "1.7.0")
)

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
