package azurefake

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	authfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	msifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi/fake"
)

func (c *Cloud) msiServer() *msifake.ServerFactory {
	return &msifake.ServerFactory{UserAssignedIdentitiesServer: msifake.UserAssignedIdentitiesServer{
		CreateOrUpdate: func(_ context.Context, rg, name string, p armmsi.Identity, _ *armmsi.UserAssignedIdentitiesClientCreateOrUpdateOptions) (azfake.Responder[armmsi.UserAssignedIdentitiesClientCreateOrUpdateResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if e := c.checkCreate(rg, p.Location); e != nil {
				return fail[azfake.Responder[armmsi.UserAssignedIdentitiesClientCreateOrUpdateResponse]](e)
			}
			id := c.resourceID(rg, "Microsoft.ManagedIdentity", "userAssignedIdentities/"+name)
			old := c.identities[key(id)]
			n := clone(&p)
			n.ID, n.Name, n.Type = to.Ptr(id), to.Ptr(name), to.Ptr("Microsoft.ManagedIdentity/userAssignedIdentities")
			n.Properties = &armmsi.UserAssignedIdentityProperties{}
			if old != nil {
				n.Properties = clone(old.Properties)
			} else {
				n.Properties.PrincipalID, n.Properties.ClientID, n.Properties.TenantID = to.Ptr(newUUID()), to.Ptr(newUUID()), to.Ptr(c.opts.TenantID)
			}
			c.identities[key(id)] = n
			return created(armmsi.UserAssignedIdentitiesClientCreateOrUpdateResponse{Identity: *clone(n)}, old == nil)
		},
		Get: func(_ context.Context, rg, name string, _ *armmsi.UserAssignedIdentitiesClientGetOptions) (azfake.Responder[armmsi.UserAssignedIdentitiesClientGetResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			id := c.resourceID(rg, "Microsoft.ManagedIdentity", "userAssignedIdentities/"+name)
			n := c.identities[key(id)]
			if n == nil {
				return fail[azfake.Responder[armmsi.UserAssignedIdentitiesClientGetResponse]](notFound("Microsoft.ManagedIdentity/userAssignedIdentities", id))
			}
			return ok(armmsi.UserAssignedIdentitiesClientGetResponse{Identity: *clone(n)})
		},
		Delete: func(_ context.Context, rg, name string, _ *armmsi.UserAssignedIdentitiesClientDeleteOptions) (azfake.Responder[armmsi.UserAssignedIdentitiesClientDeleteResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			id := c.resourceID(rg, "Microsoft.ManagedIdentity", "userAssignedIdentities/"+name)
			var r azfake.Responder[armmsi.UserAssignedIdentitiesClientDeleteResponse]
			if c.identities[key(id)] == nil {
				r.SetResponse(http.StatusNoContent, armmsi.UserAssignedIdentitiesClientDeleteResponse{}, nil)
				return r, azfake.ErrorResponder{}
			}
			delete(c.identities, key(id))
			r.SetResponse(http.StatusOK, armmsi.UserAssignedIdentitiesClientDeleteResponse{}, nil)
			return r, azfake.ErrorResponder{}
		},
	}}
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// principalExists reports whether a principal ID belongs to an identity the fake made; callers
// hold c.mu.
func (c *Cloud) principalExists(id string) bool {
	for _, n := range c.identities {
		if strings.EqualFold(deref(n.Properties.PrincipalID), id) {
			return true
		}
	}
	return false
}

func (c *Cloud) authorizationServer() *authfake.ServerFactory {
	roleID := func(scope, name string) string {
		return "/" + strings.TrimPrefix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
	}
	return &authfake.ServerFactory{RoleAssignmentsServer: authfake.RoleAssignmentsServer{
		Create: func(_ context.Context, scope, name string, p armauthorization.RoleAssignmentCreateParameters, _ *armauthorization.RoleAssignmentsClientCreateOptions) (azfake.Responder[armauthorization.RoleAssignmentsClientCreateResponse], azfake.ErrorResponder) {
			type R = azfake.Responder[armauthorization.RoleAssignmentsClientCreateResponse]
			c.mu.Lock()
			defer c.mu.Unlock()
			if !guid.MatchString(name) {
				return fail[R](errorf(http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
			}
			if p.Properties == nil || deref(p.Properties.PrincipalID) == "" || deref(p.Properties.RoleDefinitionID) == "" {
				return fail[R](errorf(http.StatusBadRequest, "InvalidRoleAssignmentRequest", "The request to create role assignment '%s' is not valid. Role assignment requires principalId and roleDefinitionId.", name))
			}
			pid := *p.Properties.PrincipalID
			if !c.principalExists(pid) {
				return fail[R](errorf(http.StatusBadRequest, "PrincipalNotFound",
					"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.", strings.ReplaceAll(pid, "-", ""), c.opts.TenantID))
			}
			if s := "/" + strings.TrimPrefix(scope, "/"); strings.Count(s, "/") > 4 && c.lookup(s) == nil {
				return fail[R](errorf(http.StatusNotFound, "ResourceNotFound", "The scope '%s' does not exist.", s))
			}
			id := roleID(scope, name)
			if old := c.roles[key(id)]; old != nil {
				if !strings.EqualFold(deref(old.Properties.PrincipalID), pid) || !strings.EqualFold(deref(old.Properties.RoleDefinitionID), *p.Properties.RoleDefinitionID) {
					return fail[R](errorf(http.StatusBadRequest, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."))
				}
				return created(armauthorization.RoleAssignmentsClientCreateResponse{RoleAssignment: *clone(old)}, false)
			}
			for _, r := range c.roles {
				if strings.EqualFold(deref(r.Properties.Scope), "/"+strings.TrimPrefix(scope, "/")) && strings.EqualFold(deref(r.Properties.PrincipalID), pid) &&
					strings.EqualFold(deref(r.Properties.RoleDefinitionID), *p.Properties.RoleDefinitionID) {
					return fail[R](errorf(http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is %s.", lastSegment(deref(r.ID))))
				}
			}
			now := time.Now().UTC()
			ra := &armauthorization.RoleAssignment{
				ID: to.Ptr(id), Name: to.Ptr(name), Type: to.Ptr("Microsoft.Authorization/roleAssignments"),
				Properties: &armauthorization.RoleAssignmentProperties{
					PrincipalID: to.Ptr(pid), RoleDefinitionID: p.Properties.RoleDefinitionID, Scope: to.Ptr("/" + strings.TrimPrefix(scope, "/")),
					PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal), Description: p.Properties.Description,
					CreatedOn: to.Ptr(now), UpdatedOn: to.Ptr(now),
				},
			}
			c.roles[key(id)] = ra
			return created(armauthorization.RoleAssignmentsClientCreateResponse{RoleAssignment: *clone(ra)}, true)
		},
		Get: func(_ context.Context, scope, name string, _ *armauthorization.RoleAssignmentsClientGetOptions) (azfake.Responder[armauthorization.RoleAssignmentsClientGetResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			ra := c.roles[key(roleID(scope, name))]
			if ra == nil {
				return fail[azfake.Responder[armauthorization.RoleAssignmentsClientGetResponse]](errorf(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name))
			}
			return ok(armauthorization.RoleAssignmentsClientGetResponse{RoleAssignment: *clone(ra)})
		},
		Delete: func(_ context.Context, scope, name string, _ *armauthorization.RoleAssignmentsClientDeleteOptions) (azfake.Responder[armauthorization.RoleAssignmentsClientDeleteResponse], azfake.ErrorResponder) {
			c.mu.Lock()
			defer c.mu.Unlock()
			var r azfake.Responder[armauthorization.RoleAssignmentsClientDeleteResponse]
			ra := c.roles[key(roleID(scope, name))]
			if ra == nil {
				r.SetResponse(http.StatusNoContent, armauthorization.RoleAssignmentsClientDeleteResponse{}, nil)
				return r, azfake.ErrorResponder{}
			}
			delete(c.roles, key(roleID(scope, name)))
			r.SetResponse(http.StatusOK, armauthorization.RoleAssignmentsClientDeleteResponse{RoleAssignment: *clone(ra)}, nil)
			return r, azfake.ErrorResponder{}
		},
		NewListForScopePager: func(scope string, _ *armauthorization.RoleAssignmentsClientListForScopeOptions) azfake.PagerResponder[armauthorization.RoleAssignmentsClientListForScopeResponse] {
			c.mu.Lock()
			defer c.mu.Unlock()
			s := key("/" + strings.TrimPrefix(scope, "/"))
			var out []*armauthorization.RoleAssignment
			for _, r := range c.roles {
				rs := key(deref(r.Properties.Scope))
				// Azure lists assignments at the scope, above it and below it.
				if rs == s || strings.HasPrefix(s, rs+"/") || strings.HasPrefix(rs, s+"/") {
					out = append(out, clone(r))
				}
			}
			slices.SortFunc(out, func(a, b *armauthorization.RoleAssignment) int { return strings.Compare(*a.ID, *b.ID) })
			return pages(out, 0, func(v []*armauthorization.RoleAssignment) armauthorization.RoleAssignmentsClientListForScopeResponse {
				return armauthorization.RoleAssignmentsClientListForScopeResponse{RoleAssignmentListResult: armauthorization.RoleAssignmentListResult{Value: v}}
			})
		},
	}}
}
