// Package acctest is the harness every acceptance test uses: provider factories, the choice of
// CLI (OpenTofu or Terraform, through TF_ACC_TERRAFORM_PATH) with a version check that knows
// OpenTofu, moto as AWS with a fault-injecting proxy in front of it, the Azure SDK's fake
// servers, and (in subpackages) SSH "GPU hosts" and stand-ins for vLLM and the Hub.
//
// Peers are started once per test package and shared by its tests; a package's TestMain calls
// Main so that they stop when the tests end:
//
//	func TestMain(m *testing.M) { acctest.Main(m) }
package acctest

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/inferstack/terraform-provider-inferstack/internal/provider"
)

// ProviderName is the provider's type name in configurations.
const ProviderName = "inferstack"

// ProviderFactories builds the provider in-process for resource.TestCase.
func ProviderFactories(opts ...provider.Option) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		ProviderName: providerserver.NewProtocol6WithError(provider.New("test", opts...)()),
	}
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// atExit registers a function that Main runs after the package's tests.
func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// Main runs the package's tests, then stops every peer the tests started, and exits.
func Main(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

// PreCheck fails the test (never skips it) when the CLI under test is not set up.
func PreCheck(t testing.TB) {
	t.Helper()
	if _, err := CurrentCLI(); err != nil {
		t.Fatalf("%v", err)
	}
}

// TestName returns a name for test objects: "tf-acc-test-" and a short random suffix.
func TestName(suffix string) string {
	return fmt.Sprintf("tf-acc-test-%s-%s", suffix, randomSuffix())
}
