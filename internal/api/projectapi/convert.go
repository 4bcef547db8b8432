package projectapi

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// instanceID returns the ID of the request's instance.
func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return "", errors.New("admin API: no instance in the request context")
	}
	return in.ID, nil
}

// state converts an optional state (UNSPECIFIED: "").
func state(s adminv1.State) (iam.State, error) { return apiutil.StateFromProto(s, "state") }

// duration converts an optional duration (nil: 0, the default).
func duration(d *durationpb.Duration, field string) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, &iam.Error{Code: iam.Invalid, Field: field, Message: "not a valid duration"}
	}
	return d.AsDuration(), nil
}

func projectToProto(p *iam.Project) *adminv1.Project {
	return &adminv1.Project{
		Id: p.ID, OrgId: p.OrgID, Name: p.Name, RoleAssertion: p.RoleAssertion, State: apiutil.StateToProto(p.State),
		CreatedAt: apiutil.Timestamp(p.CreatedAt), ChangedAt: apiutil.Timestamp(p.ChangedAt), Version: p.Version,
	}
}

func roleToProto(r *iam.ProjectRole) *adminv1.ProjectRole {
	return &adminv1.ProjectRole{
		ProjectId: r.ProjectID, Key: r.Key, DisplayName: r.DisplayName, Group: r.Group,
		CreatedAt: apiutil.Timestamp(r.CreatedAt), ChangedAt: apiutil.Timestamp(r.ChangedAt), Version: r.Version,
	}
}

func projectGrantToProto(g *iam.ProjectGrant) *adminv1.ProjectGrant {
	return &adminv1.ProjectGrant{
		Id: g.ID, ProjectId: g.ProjectID, OrgId: g.OrgID, GrantedOrgId: g.GrantedOrgID, RoleKeys: g.RoleKeys,
		State: apiutil.StateToProto(g.State), CreatedAt: apiutil.Timestamp(g.CreatedAt), ChangedAt: apiutil.Timestamp(g.ChangedAt),
		Version: g.Version,
	}
}

func userGrantToProto(g *iam.UserGrant) *adminv1.UserGrant {
	return &adminv1.UserGrant{
		Id: g.ID, OrgId: g.OrgID, UserId: g.UserID, ProjectId: g.ProjectID, ProjectGrantId: g.ProjectGrantID, RoleKeys: g.RoleKeys,
		State: apiutil.StateToProto(g.State), CreatedAt: apiutil.Timestamp(g.CreatedAt), ChangedAt: apiutil.Timestamp(g.ChangedAt),
		Version: g.Version,
	}
}

var (
	appTypeFromProto = map[adminv1.ApplicationType]iam.AppType{
		adminv1.ApplicationType_APPLICATION_TYPE_WEB:    iam.AppTypeWeb,
		adminv1.ApplicationType_APPLICATION_TYPE_NATIVE: iam.AppTypeNative,
		adminv1.ApplicationType_APPLICATION_TYPE_SPA:    iam.AppTypeSPA,
		adminv1.ApplicationType_APPLICATION_TYPE_API:    iam.AppTypeAPI,
	}
	authMethodFromProto = map[adminv1.AuthMethod]iam.AppAuthMethod{
		adminv1.AuthMethod_AUTH_METHOD_CLIENT_SECRET_BASIC: iam.AuthClientSecretBasic,
		adminv1.AuthMethod_AUTH_METHOD_CLIENT_SECRET_POST:  iam.AuthClientSecretPost,
		adminv1.AuthMethod_AUTH_METHOD_PRIVATE_KEY_JWT:     iam.AuthPrivateKeyJWT,
		adminv1.AuthMethod_AUTH_METHOD_NONE:                iam.AuthNone,
	}
	tokenFormatFromProto = map[adminv1.AccessTokenFormat]iam.AccessTokenFormat{
		adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_JWT:    iam.TokenFormatJWT,
		adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_OPAQUE: iam.TokenFormatOpaque,
	}
	appTypeToProto     = invert(appTypeFromProto)
	authMethodToProto  = invert(authMethodFromProto)
	tokenFormatToProto = invert(tokenFormatFromProto)
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// appType converts the application type; UNSPECIFIED becomes "", which
// validation reports as "type".
func appType(t adminv1.ApplicationType) (iam.AppType, error) {
	if t == adminv1.ApplicationType_APPLICATION_TYPE_UNSPECIFIED {
		return "", nil
	}
	if v, ok := appTypeFromProto[t]; ok {
		return v, nil
	}
	return "", &iam.Error{Code: iam.Invalid, Field: "type", Message: "unknown application type"}
}

// settings copies ApplicationSettings into a; UNSPECIFIED enums and unset
// durations stay zero, so that the type's defaults apply.
func settings(a *iam.Application, s *adminv1.ApplicationSettings) error {
	if s == nil {
		s = &adminv1.ApplicationSettings{}
	}
	a.Name = s.GetName()
	a.RedirectURIs = s.GetRedirectUris()
	a.PostLogoutRedirectURIs = s.GetPostLogoutRedirectUris()
	a.GrantTypes = s.GetGrantTypes()
	a.ResponseTypes = s.GetResponseTypes()
	a.PKCERequired = s.GetPkceRequired()
	a.ConsentRequired = s.GetConsentRequired()
	var errs []error
	if m := s.GetAuthMethod(); m != adminv1.AuthMethod_AUTH_METHOD_UNSPECIFIED {
		v, ok := authMethodFromProto[m]
		if !ok {
			errs = append(errs, &iam.Error{Code: iam.Invalid, Field: "settings.auth_method", Message: "unknown auth method"})
		}
		a.AuthMethod = v
	}
	if f := s.GetAccessTokenFormat(); f != adminv1.AccessTokenFormat_ACCESS_TOKEN_FORMAT_UNSPECIFIED {
		v, ok := tokenFormatFromProto[f]
		if !ok {
			errs = append(errs, &iam.Error{Code: iam.Invalid, Field: "settings.access_token_format", Message: "unknown access token format"})
		}
		a.AccessTokenFormat = v
	}
	var err error
	a.AccessTokenLifetime, err = duration(s.GetAccessTokenLifetime(), "settings.access_token_lifetime")
	errs = append(errs, err)
	a.IDTokenLifetime, err = duration(s.GetIdTokenLifetime(), "settings.id_token_lifetime")
	errs = append(errs, err)
	a.RefreshTokenLifetime, err = duration(s.GetRefreshTokenLifetime(), "settings.refresh_token_lifetime")
	errs = append(errs, err)
	return apiutil.Collect(errs...)
}

func appToProto(a *iam.Application) *adminv1.Application {
	return &adminv1.Application{
		Id: a.ID, ProjectId: a.ProjectID, OrgId: a.OrgID, Name: a.Name, Type: appTypeToProto[a.Type], ClientId: a.ClientID,
		HasClientSecret: a.SecretHash != nil, RedirectUris: a.RedirectURIs, PostLogoutRedirectUris: a.PostLogoutRedirectURIs,
		GrantTypes: a.GrantTypes, ResponseTypes: a.ResponseTypes, AuthMethod: authMethodToProto[a.AuthMethod],
		AccessTokenFormat:    tokenFormatToProto[a.AccessTokenFormat],
		AccessTokenLifetime:  durationpb.New(a.AccessTokenLifetime),
		IdTokenLifetime:      durationpb.New(a.IDTokenLifetime),
		RefreshTokenLifetime: durationpb.New(a.RefreshTokenLifetime),
		PkceRequired:         a.PKCERequired, ConsentRequired: a.ConsentRequired, State: apiutil.StateToProto(a.State),
		CreatedAt: apiutil.Timestamp(a.CreatedAt), ChangedAt: apiutil.Timestamp(a.ChangedAt), Version: a.Version,
	}
}
