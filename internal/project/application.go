package project

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// ClientSecretPrefix starts every generated client secret, so that users
// and secret scanners can tell what a leaked string is.
const ClientSecretPrefix = "rcs_"

// MinFixedClientSecretLength bounds client secrets given on create
// (bootstrap) from below.
const MinFixedClientSecretLength = 32

// CreateApplication validates and stores a new application of the project
// (a.InstanceID, a.OrgID, a.ProjectID), with its "app.created" event.
//
// The type's defaults fill the settings left empty and Validate checks the
// rules documented on iam.Application; problems name the API fields
// ("settings.redirect_uris"). a.ID and a.ClientID are generated unless set
// (bootstrap: fixed client IDs); a.SecretHash is ignored. For the
// client_secret_basic and client_secret_post methods a client secret is
// generated — or clientSecret is used if not empty (bootstrap; at least 32
// characters) — and returned once: only its keyed hash is stored. Other
// methods get no secret and clientSecret must be empty.
func (s *Service) CreateApplication(ctx context.Context, actor string, a *iam.Application, clientSecret string) (*iam.Application, string, error) {
	a = cloneApp(a)
	if a.ID == "" {
		a.ID = iam.NewID()
	} else if err := checkFixedID("id", a.ID); err != nil {
		return nil, "", err
	}
	if a.ClientID == "" {
		a.ClientID = iam.NewID()
	}
	a.SecretHash = nil
	a.Normalize()
	a.ApplyDefaults()
	err := a.Validate()
	if err == nil {
		switch {
		case a.AuthMethod.UsesSecret() && clientSecret == "":
			clientSecret = crypto.NewSecret(ClientSecretPrefix)
		case a.AuthMethod.UsesSecret() && len(clientSecret) < MinFixedClientSecretLength:
			err = &iam.Error{Code: iam.Invalid, Field: "client_secret", Message: "a fixed client secret has at least 32 characters"}
		case !a.AuthMethod.UsesSecret() && clientSecret != "":
			err = &iam.Error{Code: iam.Invalid, Field: "client_secret", Message: "auth method " + string(a.AuthMethod) + " uses no client secret"}
		}
	}
	if err != nil {
		return nil, "", err
	}
	if clientSecret != "" {
		if a.SecretHash, err = s.hash(clientSecret); err != nil {
			return nil, "", err
		}
	}
	var out *iam.Application
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := getProject(ctx, tx, a.InstanceID, a.OrgID, a.ProjectID); err != nil {
			return err
		}
		now := s.clock()
		created, err := tx.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: a, Now: now})
		if err != nil {
			return err
		}
		out = created
		// Nothing caches the new client ID yet, but its project's audience
		// (ProjectAudience) changes.
		if err := invalidateApp(ctx, tx, created); err != nil {
			return err
		}
		return appEvent(ctx, tx, actor, created, iam.EventAppCreated, map[string]any{"after": appSnapshot(created)}, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, "", &iam.Error{Code: iam.AlreadyExists, Field: "client_id", Message: "an application with this ID or client ID already exists in the instance", Err: err}
	}
	if err != nil {
		return nil, "", store.DomainError(err, "application")
	}
	return out, clientSecret, nil
}

func (s *Service) hash(secret string) ([]byte, error) {
	if s.secrets == nil {
		return nil, iam.Errorf(iam.Internal, "no secret hasher configured")
	}
	return s.secrets.Hash(secret), nil
}

// GetApplication returns the application id of the project of the
// organization.
func (s *Service) GetApplication(ctx context.Context, instanceID, orgID, projectID, id string) (*iam.Application, error) {
	if err := required("org_id", orgID, "project_id", projectID, "app_id", id); err != nil {
		return nil, err
	}
	a, err := s.store.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id})
	if err != nil {
		return nil, store.DomainError(err, "application")
	}
	return a, nil
}

// GetApplicationByClientID returns the application with the client ID in
// the instance (one query, or none when cached: see Options.Cache).
func (s *Service) GetApplicationByClientID(ctx context.Context, instanceID, clientID string) (*iam.Application, error) {
	if err := required("client_id", clientID); err != nil {
		return nil, err
	}
	a, err := s.apps.GetOrLoad(appKey{instanceID, clientID}, func() (*iam.Application, error) {
		return s.store.ApplicationGetByClientID(ctx, &store.ApplicationGetByClientIDParams{InstanceID: instanceID, ClientID: clientID})
	})
	if err != nil {
		return nil, store.DomainError(err, "application")
	}
	return cloneApp(a), nil
}

// invalidateApp drops the application from every node's cache once tx
// commits.
func invalidateApp(ctx context.Context, tx store.Queries, a *iam.Application) error {
	return tx.CacheInvalidate(ctx, store.TopicAppClient, store.AppClientKey(a.InstanceID, a.ClientID))
}

// ListApplicationsParams select applications of a project.
type ListApplicationsParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	// AfterID is the cursor: the ID of the last application of the previous
	// page. Results are ordered by ID.
	AfterID string
	Limit   int
}

// ListApplications returns up to p.Limit applications of the project after
// the cursor; NotFound if the organization has no such project.
func (s *Service) ListApplications(ctx context.Context, p ListApplicationsParams) ([]*iam.Application, error) {
	if err := required("org_id", p.OrgID, "project_id", p.ProjectID); err != nil {
		return nil, err
	}
	if _, err := getProject(ctx, s.store, p.InstanceID, p.OrgID, p.ProjectID); err != nil {
		return nil, store.DomainError(err, "project")
	}
	list, err := s.store.ApplicationList(ctx, &store.ApplicationListParams{
		InstanceID: p.InstanceID, OrgID: p.OrgID, ProjectID: p.ProjectID, AfterID: p.AfterID, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "applications")
	}
	return list, nil
}

// UpdateApplication replaces the settings (name, URIs, grant and response
// types, auth method, token format and lifetimes, PKCE) and, if a.State is
// set, the state of the application (a.InstanceID, a.OrgID, a.ProjectID,
// a.ID) at a.Version, with its "app.changed" event. As on create, settings
// left empty take the type's defaults and the result is validated. Type and
// client ID never change.
//
// Switching to an auth method without a secret deletes the stored secret
// hash. Switching from such a method to client_secret_basic or
// client_secret_post leaves the application without a secret until
// RegenerateClientSecret issues one.
func (s *Service) UpdateApplication(ctx context.Context, actor string, a *iam.Application) (*iam.Application, error) {
	if err := required("org_id", a.OrgID, "project_id", a.ProjectID, "app_id", a.ID); err != nil {
		return nil, err
	}
	var out *iam.Application
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: a.InstanceID, OrgID: a.OrgID, ProjectID: a.ProjectID, ID: a.ID})
		if err != nil {
			return err
		}
		c := cloneApp(a)
		c.Type, c.ClientID, c.SecretHash, c.CreatedAt, c.ChangedAt = before.Type, before.ClientID, before.SecretHash, before.CreatedAt, before.ChangedAt
		if c.State == "" {
			c.State = before.State
		}
		c.Normalize()
		c.ApplyDefaults()
		if !c.AuthMethod.UsesSecret() {
			c.SecretHash = nil
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Version != a.Version {
			return store.ErrConflict
		}
		if sameApp(before, c) {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.ApplicationUpdate(ctx, &store.ApplicationUpdateParams{Application: c, Now: now})
		if err != nil {
			return err
		}
		out = after
		if err := invalidateApp(ctx, tx, after); err != nil {
			return err
		}
		return appEvent(ctx, tx, actor, after, iam.EventAppChanged, map[string]any{"before": appSnapshot(before), "after": appSnapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "application")
	}
	return out, nil
}

// DeleteApplication deletes the application at version, with its
// "app.deleted" event.
func (s *Service) DeleteApplication(ctx context.Context, actor, instanceID, orgID, projectID, id string, version int64) error {
	if err := required("org_id", orgID, "project_id", projectID, "app_id", id); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if err := tx.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id, Version: version}); err != nil {
			return err
		}
		if err := invalidateApp(ctx, tx, before); err != nil {
			return err
		}
		return appEvent(ctx, tx, actor, before, iam.EventAppDeleted, map[string]any{"before": appSnapshot(before)}, s.clock())
	})
	return store.DomainError(err, "application")
}

// RegenerateClientSecret replaces the client secret of the application with
// a new generated one, returned once, with its "app.secret_regenerated"
// event; the old secret stops working at once. FailedPrecondition for
// applications whose auth method uses no secret.
func (s *Service) RegenerateClientSecret(ctx context.Context, actor, instanceID, orgID, projectID, id string) (*iam.Application, string, error) {
	if err := required("org_id", orgID, "project_id", projectID, "app_id", id); err != nil {
		return nil, "", err
	}
	secret := crypto.NewSecret(ClientSecretPrefix)
	hash, err := s.hash(secret)
	if err != nil {
		return nil, "", err
	}
	var out *iam.Application
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ApplicationGetByID(ctx, &store.ApplicationGetByIDParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if !before.AuthMethod.UsesSecret() {
			return iam.Errorf(iam.FailedPrecondition,
				"the application authenticates with %s and has no client secret; switch its auth method to client_secret_basic or client_secret_post first", before.AuthMethod)
		}
		now := s.clock()
		after, err := tx.ApplicationSetSecretHash(ctx, &store.ApplicationSetSecretHashParams{
			InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id, SecretHash: hash, Now: now,
		})
		if err != nil {
			return err
		}
		out = after
		if err := invalidateApp(ctx, tx, after); err != nil {
			return err
		}
		return appEvent(ctx, tx, actor, after, iam.EventAppSecretRegenerated,
			map[string]any{"client_id": after.ClientID, "had_client_secret": before.SecretHash != nil, "version": after.Version}, now)
	})
	if err != nil {
		return nil, "", store.DomainError(err, "application")
	}
	return out, secret, nil
}

func cloneApp(a *iam.Application) *iam.Application {
	c := *a
	c.SecretHash = slices.Clone(a.SecretHash)
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(a.GrantTypes)
	c.ResponseTypes = slices.Clone(a.ResponseTypes)
	return &c
}

// sameApp reports whether b would store nothing new over a.
func sameApp(a, b *iam.Application) bool {
	return a.Name == b.Name && slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs) &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.ResponseTypes, b.ResponseTypes) &&
		a.AuthMethod == b.AuthMethod && a.AccessTokenFormat == b.AccessTokenFormat &&
		a.AccessTokenLifetime == b.AccessTokenLifetime && a.IDTokenLifetime == b.IDTokenLifetime && a.RefreshTokenLifetime == b.RefreshTokenLifetime &&
		a.PKCERequired == b.PKCERequired && a.ConsentRequired == b.ConsentRequired && a.State == b.State && (a.SecretHash == nil) == (b.SecretHash == nil)
}

// appSnapshot describes an application for audit events: everything but
// the secret hash, of which only the presence is recorded.
func appSnapshot(a *iam.Application) map[string]any {
	return map[string]any{
		"project_id": a.ProjectID, "name": a.Name, "type": a.Type, "client_id": a.ClientID, "has_client_secret": a.SecretHash != nil,
		"redirect_uris": a.RedirectURIs, "post_logout_redirect_uris": a.PostLogoutRedirectURIs,
		"grant_types": a.GrantTypes, "response_types": a.ResponseTypes, "auth_method": a.AuthMethod,
		"access_token_format": a.AccessTokenFormat, "access_token_lifetime": a.AccessTokenLifetime.String(),
		"id_token_lifetime": a.IDTokenLifetime.String(), "refresh_token_lifetime": a.RefreshTokenLifetime.String(),
		"pkce_required": a.PKCERequired, "consent_required": a.ConsentRequired, "state": a.State, "version": a.Version,
	}
}

func appEvent(ctx context.Context, tx store.Queries, actor string, a *iam.Application, typ string, payload any, now time.Time) error {
	return event(ctx, tx, actor, a.InstanceID, iam.AggregateApplication, a.ID, typ, payload, now)
}
