package azurefake

import (
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	keyvaultfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	secretsfake "github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"
)

type vault struct {
	obj     *armkeyvault.Vault
	secrets map[string]*secret // by lower-case name
	deleted time.Time
}

type secret struct {
	name, value, contentType, version string
	tags                              map[string]*string
	created, updated                  time.Time
	old                               map[string]string // earlier versions' values
}

func (v *vault) name() string { return deref(v.obj.Name) }

func (v *vault) uri() string { return "https://" + strings.ToLower(v.name()) + ".vault.azure.net/" }

func (v *vault) mgmtSecret(s *secret) *armkeyvault.Secret {
	return &armkeyvault.Secret{
		ID: to.Ptr(deref(v.obj.ID) + "/secrets/" + s.name), Name: to.Ptr(s.name), Type: to.Ptr("Microsoft.KeyVault/vaults/secrets"),
		Location: v.obj.Location, Tags: s.tags,
		Properties: &armkeyvault.SecretProperties{
			ContentType: nilIfEmpty(s.contentType),
			SecretURI:   to.Ptr(v.uri() + "secrets/" + s.name), SecretURIWithVersion: to.Ptr(v.uri() + "secrets/" + s.name + "/" + s.version),
			Attributes: &armkeyvault.SecretAttributes{Enabled: to.Ptr(true), Created: to.Ptr(s.created), Updated: to.Ptr(s.updated)},
		},
	}
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// setSecret stores a new version of a secret; callers hold c.mu.
func (v *vault) setSecret(name, value, contentType string, tags map[string]*string) *secret {
	now := time.Now().UTC().Truncate(time.Second)
	s := v.secrets[strings.ToLower(name)]
	if s == nil {
		s = &secret{name: name, created: now, old: map[string]string{}}
		v.secrets[strings.ToLower(name)] = s
	} else {
		s.old[s.version] = s.value
	}
	s.value, s.contentType, s.tags, s.updated = value, contentType, tags, now
	s.version = hex.EncodeToString(randomBytes(16))
	return s
}

var vaultName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// vaultByName finds a live vault by name; callers hold c.mu.
func (c *Cloud) vaultByName(name string) *vault {
	for _, v := range c.vaults {
		if strings.EqualFold(v.name(), name) {
			return v
		}
	}
	return nil
}

func (c *Cloud) keyvaultServer() *keyvaultfake.ServerFactory {
	vaultID := func(rg, name string) string { return c.resourceID(rg, "Microsoft.KeyVault", "vaults/"+name) }
	return &keyvaultfake.ServerFactory{
		VaultsServer: keyvaultfake.VaultsServer{
			BeginCreateOrUpdate: c.putVault,
			Get: func(_ context.Context, rg, name string, _ *armkeyvault.VaultsClientGetOptions) (azfake.Responder[armkeyvault.VaultsClientGetResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.vaults[key(vaultID(rg, name))]
				if v == nil {
					return fail[azfake.Responder[armkeyvault.VaultsClientGetResponse]](notFound("Microsoft.KeyVault/vaults", vaultID(rg, name)))
				}
				return ok(armkeyvault.VaultsClientGetResponse{Vault: *clone(v.obj)})
			},
			Update: func(_ context.Context, rg, name string, p armkeyvault.VaultPatchParameters, _ *armkeyvault.VaultsClientUpdateOptions) (azfake.Responder[armkeyvault.VaultsClientUpdateResponse], azfake.ErrorResponder) {
				type R = azfake.Responder[armkeyvault.VaultsClientUpdateResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.vaults[key(vaultID(rg, name))]
				if v == nil {
					return fail[R](notFound("Microsoft.KeyVault/vaults", vaultID(rg, name)))
				}
				if p.Properties != nil && p.Properties.EnablePurgeProtection != nil && !*p.Properties.EnablePurgeProtection && deref(v.obj.Properties.EnablePurgeProtection) {
					return fail[R](errorf(http.StatusBadRequest, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action."))
				}
				merged, err := mergePatch(v.obj, p)
				if err != nil {
					return fail[R](errorf(http.StatusBadRequest, "InvalidRequestContent", "%v", err))
				}
				v.obj = merged
				return ok(armkeyvault.VaultsClientUpdateResponse{Vault: *clone(v.obj)})
			},
			Delete: func(_ context.Context, rg, name string, _ *armkeyvault.VaultsClientDeleteOptions) (azfake.Responder[armkeyvault.VaultsClientDeleteResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				var r azfake.Responder[armkeyvault.VaultsClientDeleteResponse]
				v := c.vaults[key(vaultID(rg, name))]
				if v == nil {
					r.SetResponse(http.StatusNoContent, armkeyvault.VaultsClientDeleteResponse{}, nil)
					return r, azfake.ErrorResponder{}
				}
				delete(c.vaults, key(vaultID(rg, name)))
				if deref(v.obj.Properties.EnableSoftDelete) {
					v.deleted = time.Now().UTC()
					c.deleted[strings.ToLower(name)] = v
				}
				r.SetResponse(http.StatusOK, armkeyvault.VaultsClientDeleteResponse{}, nil)
				return r, azfake.ErrorResponder{}
			},
			GetDeleted: func(_ context.Context, name, location string, _ *armkeyvault.VaultsClientGetDeletedOptions) (azfake.Responder[armkeyvault.VaultsClientGetDeletedResponse], azfake.ErrorResponder) {
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.deleted[strings.ToLower(name)]
				if v == nil || !strings.EqualFold(deref(v.obj.Location), location) {
					return fail[azfake.Responder[armkeyvault.VaultsClientGetDeletedResponse]](errorf(http.StatusNotFound, "ResourceNotFound",
						"The Resource 'Microsoft.KeyVault/locations/%s/deletedVaults/%s' was not found.", location, name))
				}
				return ok(armkeyvault.VaultsClientGetDeletedResponse{DeletedVault: *c.deletedVault(v)})
			},
			BeginPurgeDeleted: func(ctx context.Context, name, location string, _ *armkeyvault.VaultsClientBeginPurgeDeletedOptions) (azfake.PollerResponder[armkeyvault.VaultsClientPurgeDeletedResponse], azfake.ErrorResponder) {
				type R = azfake.PollerResponder[armkeyvault.VaultsClientPurgeDeletedResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.deleted[strings.ToLower(name)]
				if v == nil || !strings.EqualFold(deref(v.obj.Location), location) {
					return fail[R](errorf(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/locations/%s/deletedVaults/%s' was not found.", location, name))
				}
				if deref(v.obj.Properties.EnablePurgeProtection) {
					return fail[R](errorf(http.StatusConflict, "ConflictError",
						"Vault %s has purge protection enabled and cannot be purged before its scheduled purge date %s.", name, v.deleted.Add(90*24*time.Hour).Format(time.RFC3339)))
				}
				c.onFinish(ctx, func() { delete(c.deleted, strings.ToLower(name)) })
				return poller(c, http.StatusOK, armkeyvault.VaultsClientPurgeDeletedResponse{}), azfake.ErrorResponder{}
			},
		},
		SecretsServer: keyvaultfake.SecretsServer{
			CreateOrUpdate: func(_ context.Context, rg, vaultName, name string, p armkeyvault.SecretCreateOrUpdateParameters, _ *armkeyvault.SecretsClientCreateOrUpdateOptions) (azfake.Responder[armkeyvault.SecretsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				type R = azfake.Responder[armkeyvault.SecretsClientCreateOrUpdateResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.vaults[key(vaultID(rg, vaultName))]
				if v == nil {
					return fail[R](notFound("Microsoft.KeyVault/vaults", vaultID(rg, vaultName)))
				}
				if p.Properties == nil || p.Properties.Value == nil {
					return fail[R](errorf(http.StatusBadRequest, "BadRequest", "The secret value is required."))
				}
				isNew := v.secrets[strings.ToLower(name)] == nil
				s := v.setSecret(name, *p.Properties.Value, deref(p.Properties.ContentType), p.Tags)
				return created(armkeyvault.SecretsClientCreateOrUpdateResponse{Secret: *v.mgmtSecret(s)}, isNew)
			},
			Get: func(_ context.Context, rg, vaultName, name string, _ *armkeyvault.SecretsClientGetOptions) (azfake.Responder[armkeyvault.SecretsClientGetResponse], azfake.ErrorResponder) {
				type R = azfake.Responder[armkeyvault.SecretsClientGetResponse]
				c.mu.Lock()
				defer c.mu.Unlock()
				v := c.vaults[key(vaultID(rg, vaultName))]
				if v == nil {
					return fail[R](notFound("Microsoft.KeyVault/vaults", vaultID(rg, vaultName)))
				}
				s := v.secrets[strings.ToLower(name)]
				if s == nil {
					return fail[R](notFound("Microsoft.KeyVault/vaults/secrets", vaultID(rg, vaultName)+"/secrets/"+name))
				}
				return ok(armkeyvault.SecretsClientGetResponse{Secret: *v.mgmtSecret(s)})
			},
			NewListPager: func(rg, vaultName string, _ *armkeyvault.SecretsClientListOptions) azfake.PagerResponder[armkeyvault.SecretsClientListResponse] {
				c.mu.Lock()
				defer c.mu.Unlock()
				var out []*armkeyvault.Secret
				if v := c.vaults[key(vaultID(rg, vaultName))]; v != nil {
					for _, s := range v.secrets {
						out = append(out, v.mgmtSecret(s))
					}
				}
				slices.SortFunc(out, func(a, b *armkeyvault.Secret) int { return strings.Compare(*a.Name, *b.Name) })
				return pages(out, 0, func(v []*armkeyvault.Secret) armkeyvault.SecretsClientListResponse {
					return armkeyvault.SecretsClientListResponse{SecretListResult: armkeyvault.SecretListResult{Value: v}}
				})
			},
		},
	}
}

func (c *Cloud) deletedVault(v *vault) *armkeyvault.DeletedVault {
	loc := deref(v.obj.Location)
	return &armkeyvault.DeletedVault{
		ID:   to.Ptr("/subscriptions/" + c.opts.SubscriptionID + "/providers/Microsoft.KeyVault/locations/" + loc + "/deletedVaults/" + v.name()),
		Name: v.obj.Name, Type: to.Ptr("Microsoft.KeyVault/deletedVaults"),
		Properties: &armkeyvault.DeletedVaultProperties{
			VaultID: v.obj.ID, Location: v.obj.Location, Tags: v.obj.Tags, DeletionDate: to.Ptr(v.deleted),
			ScheduledPurgeDate:     to.Ptr(v.deleted.Add(time.Duration(max(deref(v.obj.Properties.SoftDeleteRetentionInDays), 7)) * 24 * time.Hour)),
			PurgeProtectionEnabled: v.obj.Properties.EnablePurgeProtection,
		},
	}
}

func (c *Cloud) putVault(ctx context.Context, rg, name string, p armkeyvault.VaultCreateOrUpdateParameters, _ *armkeyvault.VaultsClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armkeyvault.VaultsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
	type R = azfake.PollerResponder[armkeyvault.VaultsClientCreateOrUpdateResponse]
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.checkCreate(rg, p.Location); e != nil {
		return fail[R](e)
	}
	if !vaultName.MatchString(name) || strings.Contains(name, "--") {
		return fail[R](errorf(http.StatusBadRequest, "VaultNameNotValid",
			"The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", name))
	}
	if p.Properties == nil || p.Properties.TenantID == nil || p.Properties.SKU == nil {
		return fail[R](errorf(http.StatusBadRequest, "BadRequest", "The parameters tenantId and sku are required."))
	}
	if !strings.EqualFold(*p.Properties.TenantID, c.opts.TenantID) {
		return fail[R](errorf(http.StatusBadRequest, "BadRequest", "The tenant ID %s is not the tenant %s of the subscription.", *p.Properties.TenantID, c.opts.TenantID))
	}
	id := c.resourceID(rg, "Microsoft.KeyVault", "vaults/"+name)
	recoverMode := deref(p.Properties.CreateMode) == armkeyvault.CreateModeRecover
	old := c.vaults[key(id)]
	if old == nil {
		if other := c.vaultByName(name); other != nil {
			return fail[R](errorf(http.StatusConflict, "VaultAlreadyExists", "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name))
		}
		if d := c.deleted[strings.ToLower(name)]; d != nil && !recoverMode {
			return fail[R](errorf(http.StatusConflict, "ConflictError",
				"VaultAlreadyExists: a vault with the same name already exists in soft-deleted state. You need to either recover (properties.createMode recover) or purge the existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete."))
		} else if d == nil && recoverMode {
			return fail[R](errorf(http.StatusNotFound, "DeletedVaultNotFound", "A deleted vault named '%s' was not found, so it cannot be recovered.", name))
		}
	}
	v := old
	if v == nil {
		v = &vault{secrets: map[string]*secret{}}
		if d := c.deleted[strings.ToLower(name)]; d != nil {
			v.secrets = d.secrets
			delete(c.deleted, strings.ToLower(name))
		}
	}
	obj := &armkeyvault.Vault{
		ID: to.Ptr(id), Name: to.Ptr(name), Type: to.Ptr("Microsoft.KeyVault/vaults"), Location: p.Location, Tags: p.Tags,
		Properties: clone(p.Properties),
	}
	props := obj.Properties
	props.CreateMode = nil
	if props.EnableSoftDelete == nil {
		props.EnableSoftDelete = to.Ptr(true)
	}
	if props.SoftDeleteRetentionInDays == nil {
		props.SoftDeleteRetentionInDays = to.Ptr[int32](90)
	}
	if props.PublicNetworkAccess == nil {
		props.PublicNetworkAccess = to.Ptr("Enabled")
	}
	if old != nil && deref(old.obj.Properties.EnablePurgeProtection) && !deref(props.EnablePurgeProtection) {
		return fail[R](errorf(http.StatusBadRequest, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action."))
	}
	v.obj = obj
	props.VaultURI = to.Ptr(v.uri())
	if c.labURL != "" {
		// Over the lab, clients reach the vault's data plane on the lab's own host.
		props.VaultURI = to.Ptr(c.labURL + "/keyvault/" + strings.ToLower(v.name()) + "/")
	}
	props.ProvisioningState = to.Ptr(armkeyvault.VaultProvisioningStateRegisteringDNS)
	c.vaults[key(id)] = v
	final := clone(obj)
	final.Properties.ProvisioningState = to.Ptr(armkeyvault.VaultProvisioningStateSucceeded)
	c.onFinish(ctx, func() {
		if cur := c.vaults[key(id)]; cur == v {
			v.obj.Properties.ProvisioningState = to.Ptr(armkeyvault.VaultProvisioningStateSucceeded)
		}
	})
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	return poller(c, status, armkeyvault.VaultsClientCreateOrUpdateResponse{Vault: *final}), azfake.ErrorResponder{}
}

// dataPlane answers a Key Vault data-plane request for the vault with the given name.
func (c *Cloud) dataPlane(req *http.Request, name string) (*http.Response, error) {
	c.mu.Lock()
	v := c.vaultByName(name)
	if v == nil {
		c.mu.Unlock()
		return nil, &net.DNSError{Err: "no such host", Name: req.URL.Hostname(), IsNotFound: true}
	}
	if strings.EqualFold(deref(v.obj.Properties.PublicNetworkAccess), "Disabled") && !*c.opts.TrustDataPlane {
		c.mu.Unlock()
		return errorResponse(req, errorf(http.StatusForbidden, "ForbiddenByConnection",
			"Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: appid=;oid=\r\nVault: %s;location=%s", name, deref(v.obj.Location))), nil
	}
	t := c.transports.secrets[strings.ToLower(name)]
	if t == nil {
		t = secretsfake.NewServerTransport(c.secretsServer(strings.ToLower(name)))
		c.transports.secrets[strings.ToLower(name)] = t
	}
	c.mu.Unlock()
	if api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string); api == "" {
		api = dataPlaneAPI(req.Method, req.URL.Path)
		if api == "" {
			return errorResponse(req, errorf(http.StatusNotFound, "NotFound", "azurefake has no Key Vault route for %s %s", req.Method, req.URL.Path)), nil
		}
		req = req.WithContext(context.WithValue(req.Context(), runtime.CtxAPINameKey{}, api))
	}
	resp, err := t.Do(req)
	if err != nil {
		return c.errorToResponse(req, err)
	}
	return resp, nil
}

func dataPlaneAPI(method, path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 2 || seg[0] != "secrets" {
		return ""
	}
	switch {
	case method == http.MethodGet && len(seg) <= 3:
		return "Client.GetSecret"
	case method == http.MethodPut && len(seg) == 2:
		return "Client.SetSecret"
	case method == http.MethodDelete && len(seg) == 2:
		return "Client.DeleteSecret"
	}
	return ""
}

func (c *Cloud) secretsServer(vaultName string) *secretsfake.Server {
	secretID := func(v *vault, s *secret, version string) *azsecrets.ID {
		return to.Ptr(azsecrets.ID(v.uri() + "secrets/" + s.name + "/" + version))
	}
	find := func(name string) (*vault, *secret, *apiError) {
		v := c.vaultByName(vaultName)
		if v == nil {
			return nil, nil, errorf(http.StatusNotFound, "VaultNotFound", "Vault %s was not found.", vaultName)
		}
		s := v.secrets[strings.ToLower(name)]
		if s == nil {
			return v, nil, errorf(http.StatusNotFound, "SecretNotFound", "A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)
		}
		return v, s, nil
	}
	return &secretsfake.Server{
		GetSecret: func(_ context.Context, name, version string, _ *azsecrets.GetSecretOptions) (azfake.Responder[azsecrets.GetSecretResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			v, s, e := find(name)
			if e != nil {
				return fail[azfake.Responder[azsecrets.GetSecretResponse]](e)
			}
			value := s.value
			if version != "" && version != s.version {
				old, found := s.old[version]
				if !found {
					return fail[azfake.Responder[azsecrets.GetSecretResponse]](errorf(http.StatusNotFound, "SecretNotFound", "A secret with (name/id) %s/%s was not found in this key vault.", name, version))
				}
				value = old
			} else {
				version = s.version
			}
			return ok(azsecrets.GetSecretResponse{Secret: azsecrets.Secret{
				ID: secretID(v, s, version), Value: to.Ptr(value), ContentType: nilIfEmpty(s.contentType), Tags: s.tags,
				Attributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true), Created: to.Ptr(s.created), Updated: to.Ptr(s.updated), RecoveryLevel: to.Ptr("Recoverable+Purgeable")},
			}})
		},
		SetSecret: func(_ context.Context, name string, p azsecrets.SetSecretParameters, _ *azsecrets.SetSecretOptions) (azfake.Responder[azsecrets.SetSecretResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			v := c.vaultByName(vaultName)
			if v == nil {
				return fail[azfake.Responder[azsecrets.SetSecretResponse]](errorf(http.StatusNotFound, "VaultNotFound", "Vault %s was not found.", vaultName))
			}
			if p.Value == nil {
				return fail[azfake.Responder[azsecrets.SetSecretResponse]](errorf(http.StatusBadRequest, "BadParameter", "The request has no secret value."))
			}
			s := v.setSecret(name, *p.Value, deref(p.ContentType), p.Tags)
			return ok(azsecrets.SetSecretResponse{Secret: azsecrets.Secret{
				ID: secretID(v, s, s.version), Value: p.Value, ContentType: p.ContentType, Tags: p.Tags,
				Attributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true), Created: to.Ptr(s.created), Updated: to.Ptr(s.updated)},
			}})
		},
		DeleteSecret: func(_ context.Context, name string, _ *azsecrets.DeleteSecretOptions) (azfake.Responder[azsecrets.DeleteSecretResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			v, s, e := find(name)
			if e != nil {
				return fail[azfake.Responder[azsecrets.DeleteSecretResponse]](e)
			}
			delete(v.secrets, strings.ToLower(name))
			now := time.Now().UTC()
			return ok(azsecrets.DeleteSecretResponse{DeletedSecret: azsecrets.DeletedSecret{
				ID: secretID(v, s, s.version), DeletedDate: to.Ptr(now), RecoveryID: to.Ptr(v.uri() + "deletedsecrets/" + s.name),
				Attributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true), Created: to.Ptr(s.created), Updated: to.Ptr(s.updated)},
			}})
		},
	}
}
