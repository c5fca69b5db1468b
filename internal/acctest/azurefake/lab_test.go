package azurefake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func TestLabOverHTTPS(t *testing.T) {
	t.Parallel()
	c := New(Options{})
	c.AddResourceGroup("rg-inferstack-lab", "westeurope")
	lab, err := c.Serve("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()

	pem, err := os.ReadFile(lab.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, Timeout: 10 * time.Second}
	co := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: lab.URL + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: lab.URL, Audience: "https://management.azure.com/"},
			},
		},
		Transport: httpClient,
		Retry:     policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond},
	}
	ctx := context.Background()

	bad, err := azidentity.NewClientSecretCredential(lab.TenantID, lab.ClientID, "wrong", &azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}); err == nil {
		t.Error("a wrong client secret got a token")
	}

	cred, err := azidentity.NewClientSecretCredential(lab.TenantID, lab.ClientID, lab.ClientSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	rgs, err := armresources.NewResourceGroupsClient(c.SubscriptionID(), cred, &arm.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rgs.Get(ctx, "rg-inferstack-lab", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Location != "westeurope" {
		t.Errorf("location %s", *got.Location)
	}

	// Without a token Resource Manager answers 401.
	resp, err := httpClient.Get(lab.URL + "/subscriptions/" + c.SubscriptionID() + "/resourceGroups/rg-inferstack-lab?api-version=2021-04-01")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}

	// A long-running operation and the vault data plane over HTTPS.
	vaults, err := armkeyvault.NewVaultsClient(c.SubscriptionID(), cred, &arm.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	p, err := vaults.BeginCreateOrUpdate(ctx, "rg-inferstack-lab", "kv-lab", armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr("westeurope"),
		Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr(lab.TenantID), SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	secrets, err := azsecrets.NewClient(lab.VaultURL("kv-lab"), cred, &azsecrets.ClientOptions{ClientOptions: co, DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.SetSecret(ctx, "api-key", azsecrets.SetSecretParameters{Value: to.Ptr("s3cret")}, nil); err != nil {
		t.Fatal(err)
	}
	s, err := secrets.GetSecret(ctx, "api-key", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *s.Value != "s3cret" {
		t.Errorf("value %q", *s.Value)
	}
}
