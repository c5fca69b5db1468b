// Package azure is the Azure backend: azure-sdk-for-go clients (azidentity credentials, arm*
// clients), built lazily and cached, and the calls the provider makes.
package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Config is what the provider's azure block (and the ARM_* environment) says.
type Config struct {
	SubscriptionID    string
	TenantID          string
	ClientID          string
	ClientSecret      string
	UseOIDC           bool
	OIDCToken         string
	OIDCTokenFilePath string
	UseMSI            bool
	// ClientCertificatePath is a PKCS#12 (.pfx) or PEM file with the service principal's
	// certificate and key; ClientCertificatePassword unlocks it. Secret.
	ClientCertificatePath     string
	ClientCertificatePassword string
	// UseCLI authenticates as the Azure CLI's signed-in account (az login).
	UseCLI      bool
	Environment string // public (default), usgovernment, china, or custom (the Custom* endpoints)
	// ResourceManagerEndpoint, ResourceManagerAudience and AuthorityHost describe a custom cloud
	// (Azure Stack Hub, a sovereign cloud, the local lab): set together, with Environment "" or
	// "custom". KeyVaultSuffix is the DNS suffix of its vaults (default vault.azure.net).
	ResourceManagerEndpoint string
	ResourceManagerAudience string
	AuthorityHost           string
	KeyVaultSuffix          string
	// DefaultTags go on every Azure object the backend makes.
	DefaultTags map[string]string
	UserAgent   string
	TestHooks   *TestHooks
}

// Transporter sends HTTP requests; it is azcore's policy.Transporter, restated so callers (the
// provider's test harness) can pass the SDK's fake server transports without importing azcore.
type Transporter interface {
	Do(*http.Request) (*http.Response, error)
}

// TestHooks replace the network and the credential, for the SDK's in-process fake servers.
type TestHooks struct {
	Transport  Transporter
	Credential azcore.TokenCredential
	// PollFrequency overrides how often long-running operations and waits poll (0: the
	// defaults, 5 s and more), so tests against fakes do not sleep.
	PollFrequency time.Duration
}

// Validate checks the settings without calling Azure.
func (c Config) Validate() error {
	switch strings.ToLower(c.Environment) {
	case "", "public", "usgovernment", "china", "custom":
	default:
		return fmt.Errorf("environment must be public, usgovernment, china or custom, got %q", c.Environment)
	}
	custom := c.ResourceManagerEndpoint != "" || c.AuthorityHost != ""
	if strings.EqualFold(c.Environment, "custom") && !custom {
		return errors.New("environment custom needs resource_manager_endpoint and authority_host")
	}
	if custom {
		if c.Environment != "" && !strings.EqualFold(c.Environment, "custom") {
			return fmt.Errorf("resource_manager_endpoint and authority_host describe a custom cloud: leave environment unset or set it to custom, not %q", c.Environment)
		}
		for _, u := range []struct{ name, value string }{{"resource_manager_endpoint", c.ResourceManagerEndpoint}, {"authority_host", c.AuthorityHost}} {
			parsed, err := url.Parse(u.value)
			if err != nil || parsed.Scheme != "https" || parsed.Host == "" {
				return fmt.Errorf("%s must be an https:// URL (Azure sends tokens only over TLS), got %q", u.name, u.value)
			}
		}
	}
	if c.ClientCertificatePath != "" && (c.TenantID == "" || c.ClientID == "") {
		return errors.New("client_certificate_path needs tenant_id and client_id (or ARM_TENANT_ID and ARM_CLIENT_ID)")
	}
	if c.UseOIDC && (c.TenantID == "" || c.ClientID == "") {
		return errors.New("use_oidc needs tenant_id and client_id (or ARM_TENANT_ID and ARM_CLIENT_ID)")
	}
	if c.ClientSecret != "" && (c.TenantID == "" || c.ClientID == "") {
		return errors.New("client_secret needs tenant_id and client_id (or ARM_TENANT_ID and ARM_CLIENT_ID)")
	}
	return nil
}

// Backend builds and caches Azure clients. It is safe for concurrent use.
type Backend struct {
	cfg Config

	once    sync.Once
	cred    azcore.TokenCredential
	opts    *arm.ClientOptions
	credErr error

	cache clientCache
	// locks serialise read-modify-write of a load balancer (endpoints add their rules to their
	// cluster's) within this process; If-Match guards against other writers.
	locks keyedMutex
}

// New returns a Backend; no credential is built and nothing is called until first use.
func New(cfg Config) *Backend { return &Backend{cfg: cfg} }

func (b *Backend) clientOptions() *arm.ClientOptions {
	o := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     b.cloud(),
		Telemetry: policy.TelemetryOptions{ApplicationID: applicationID(b.cfg.UserAgent)},
	}}
	if b.cfg.TestHooks != nil && b.cfg.TestHooks.Transport != nil {
		o.Transport = b.cfg.TestHooks.Transport
	}
	return o
}

func (b *Backend) cloud() cloud.Configuration {
	if b.cfg.ResourceManagerEndpoint != "" {
		audience := b.cfg.ResourceManagerAudience
		if audience == "" {
			audience = "https://management.azure.com/"
		}
		return cloud.Configuration{
			ActiveDirectoryAuthorityHost: strings.TrimSuffix(b.cfg.AuthorityHost, "/") + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: b.cfg.ResourceManagerEndpoint, Audience: audience},
			},
		}
	}
	switch strings.ToLower(b.cfg.Environment) {
	case "usgovernment":
		return cloud.AzureGovernment
	case "china":
		return cloud.AzureChina
	default:
		return cloud.AzurePublic
	}
}

// credential builds the credential once, choosing by what is configured: client secret, OIDC,
// managed identity, else the SDK's default chain.
func (b *Backend) credential() (azcore.TokenCredential, *arm.ClientOptions, error) {
	b.once.Do(func() {
		b.opts = b.clientOptions()
		if b.cfg.TestHooks != nil && b.cfg.TestHooks.Credential != nil {
			b.cred = b.cfg.TestHooks.Credential
			return
		}
		co := azcore.ClientOptions{Cloud: b.opts.Cloud, Telemetry: b.opts.Telemetry}
		// A custom cloud's authority is not one Microsoft's instance discovery knows.
		custom := b.cfg.ResourceManagerEndpoint != ""
		switch {
		case b.cfg.ClientSecret != "":
			b.cred, b.credErr = azidentity.NewClientSecretCredential(b.cfg.TenantID, b.cfg.ClientID, b.cfg.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
		case b.cfg.ClientCertificatePath != "":
			b.cred, b.credErr = b.certificateCredential(co, custom)
		case b.cfg.UseCLI:
			b.cred, b.credErr = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: b.cfg.TenantID})
		case b.cfg.UseOIDC:
			b.cred, b.credErr = azidentity.NewClientAssertionCredential(b.cfg.TenantID, b.cfg.ClientID, b.oidcToken,
				&azidentity.ClientAssertionCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
		case b.cfg.UseMSI:
			mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
			if b.cfg.ClientID != "" {
				mo.ID = azidentity.ClientID(b.cfg.ClientID)
			}
			b.cred, b.credErr = azidentity.NewManagedIdentityCredential(mo)
		default:
			b.cred, b.credErr = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
				ClientOptions: co, TenantID: b.cfg.TenantID})
		}
		if b.credErr != nil {
			b.credErr = fmt.Errorf("building Azure credential: %w", b.credErr)
		}
	})
	return b.cred, b.opts, b.credErr
}

// certificateCredential reads the service principal's certificate (PKCS#12 or PEM).
func (b *Backend) certificateCredential(co azcore.ClientOptions, custom bool) (azcore.TokenCredential, error) {
	data, err := os.ReadFile(b.cfg.ClientCertificatePath)
	if err != nil {
		return nil, fmt.Errorf("reading client_certificate_path: %w", err)
	}
	var password []byte
	if b.cfg.ClientCertificatePassword != "" {
		password = []byte(b.cfg.ClientCertificatePassword)
	}
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err != nil {
		return nil, fmt.Errorf("reading client_certificate_path %s: %w", b.cfg.ClientCertificatePath, err)
	}
	return azidentity.NewClientCertificateCredential(b.cfg.TenantID, b.cfg.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
}

func (b *Backend) oidcToken(context.Context) (string, error) {
	if b.cfg.OIDCToken != "" {
		return b.cfg.OIDCToken, nil
	}
	if b.cfg.OIDCTokenFilePath != "" {
		t, err := os.ReadFile(b.cfg.OIDCTokenFilePath)
		if err != nil {
			return "", fmt.Errorf("reading the OIDC token file: %w", err)
		}
		return strings.TrimSpace(string(t)), nil
	}
	return "", errors.New("use_oidc is set but no token was found: set oidc_token, ARM_OIDC_TOKEN, oidc_token_file_path or ARM_OIDC_TOKEN_FILE_PATH")
}

func (b *Backend) subscription() (string, error) {
	if b.cfg.SubscriptionID == "" {
		return "", errors.New("no Azure subscription: set subscription_id in the provider's azure block or ARM_SUBSCRIPTION_ID")
	}
	return b.cfg.SubscriptionID, nil
}

// applicationID fits the User-Agent part into azcore's 24-character limit.
func applicationID(userAgent string) string {
	id := strings.Replace(userAgent, "terraform-provider-", "", 1)
	id = strings.ReplaceAll(id, " ", "")
	if len(id) > 24 {
		id = id[:24]
	}
	return id
}
