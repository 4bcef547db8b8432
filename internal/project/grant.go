package project

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// checkProjectRoles fails with Invalid (role_keys) unless every key is a
// role of the project.
func checkProjectRoles(ctx context.Context, tx store.Queries, instanceID, projectID string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	roles, err := tx.ProjectRoleList(ctx, &store.ProjectRoleListParams{InstanceID: instanceID, ProjectID: projectID, Keys: keys, Limit: store.MaxListLimit})
	if err != nil {
		return err
	}
	found := make([]string, len(roles))
	for i, r := range roles {
		found[i] = r.Key
	}
	return checkSubset(keys, found, "the project has no role %q")
}

// checkSubset fails with Invalid (role_keys) naming every key not in allowed.
func checkSubset(keys, allowed []string, format string) error {
	var fe iam.FieldErrors
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			fe.Add("role_keys", format, k)
		}
	}
	return fe.Err()
}

func sortedKeys(keys []string) []string {
	c := slices.Clone(keys)
	slices.Sort(c)
	return c
}

// CreateProjectGrant grants the project (g.InstanceID, g.OrgID, g.ProjectID)
// to the organization g.GrantedOrgID with g.RoleKeys, with its
// "project_grant.created" event. The granted organization must exist in the
// instance and differ from the owner; every role key must be a role of the
// project (Invalid naming role_keys); a project is granted to an
// organization at most once (AlreadyExists). g.ID is generated unless set
// (bootstrap); g.State defaults to active.
func (s *Service) CreateProjectGrant(ctx context.Context, actor string, g *iam.ProjectGrant) (*iam.ProjectGrant, error) {
	c := *g
	g = &c
	g.RoleKeys = slices.Clone(g.RoleKeys)
	if g.ID == "" {
		g.ID = iam.NewID()
	} else if err := checkFixedID("id", g.ID); err != nil {
		return nil, err
	}
	if g.State == "" {
		g.State = iam.StateActive
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	var out *iam.ProjectGrant
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := getProject(ctx, tx, g.InstanceID, g.OrgID, g.ProjectID); err != nil {
			return err
		}
		if _, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: g.InstanceID, ID: g.GrantedOrgID}); err != nil {
			return notFound(err, "granted_org_id", "organization")
		}
		if err := checkProjectRoles(ctx, tx, g.InstanceID, g.ProjectID, g.RoleKeys); err != nil {
			return err
		}
		now := s.clock()
		created, err := tx.ProjectGrantCreate(ctx, &store.ProjectGrantCreateParams{Grant: g, Now: now})
		if err != nil {
			return err
		}
		out = created
		return projectGrantEvent(ctx, tx, actor, created, iam.EventProjectGrantCreated, map[string]any{"after": projectGrantSnapshot(created)}, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &iam.Error{Code: iam.AlreadyExists, Field: "granted_org_id", Message: "the project is already granted to this organization", Err: err}
	}
	if err != nil {
		return nil, store.DomainError(err, "project grant")
	}
	return out, nil
}

// GetProjectGrant returns the grant id of the project of the organization
// that owns it.
func (s *Service) GetProjectGrant(ctx context.Context, instanceID, orgID, projectID, id string) (*iam.ProjectGrant, error) {
	if err := required("org_id", orgID, "project_id", projectID, "grant_id", id); err != nil {
		return nil, err
	}
	g, err := s.store.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id})
	if err != nil {
		return nil, store.DomainError(err, "project grant")
	}
	return g, nil
}

// ListProjectGrantsParams select the grants of a project.
type ListProjectGrantsParams struct {
	InstanceID string
	// OrgID owns the project.
	OrgID     string
	ProjectID string
	// AfterID is the cursor: the ID of the last grant of the previous page.
	// Results are ordered by ID.
	AfterID string
	Limit   int
}

// ListProjectGrants returns up to p.Limit grants of the project after the
// cursor; NotFound if the organization has no such project.
func (s *Service) ListProjectGrants(ctx context.Context, p ListProjectGrantsParams) ([]*iam.ProjectGrant, error) {
	if err := required("org_id", p.OrgID, "project_id", p.ProjectID); err != nil {
		return nil, err
	}
	if _, err := getProject(ctx, s.store, p.InstanceID, p.OrgID, p.ProjectID); err != nil {
		return nil, store.DomainError(err, "project")
	}
	list, err := s.store.ProjectGrantList(ctx, &store.ProjectGrantListParams{
		InstanceID: p.InstanceID, OrgID: p.OrgID, ProjectID: p.ProjectID, AfterID: p.AfterID, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "project grants")
	}
	return list, nil
}

// UpdateProjectGrant replaces the role keys and, if g.State is set, the state
// of the grant (g.InstanceID, g.OrgID, g.ProjectID, g.ID) at g.Version, with
// its "project_grant.changed" event. Roles dropped from the grant are
// dropped from the user grants made under it, in the same transaction.
func (s *Service) UpdateProjectGrant(ctx context.Context, actor string, g *iam.ProjectGrant) (*iam.ProjectGrant, error) {
	if err := required("org_id", g.OrgID, "project_id", g.ProjectID, "grant_id", g.ID); err != nil {
		return nil, err
	}
	var out *iam.ProjectGrant
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ProjectID: g.ProjectID, ID: g.ID, ForUpdate: true})
		if err != nil {
			return err
		}
		c := *before
		c.RoleKeys, c.Version = slices.Clone(g.RoleKeys), g.Version
		if g.State != "" {
			c.State = g.State
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Version != g.Version {
			return store.ErrConflict
		}
		if c.State == before.State && slices.Equal(sortedKeys(c.RoleKeys), before.RoleKeys) {
			out = before
			return nil
		}
		if err := checkProjectRoles(ctx, tx, c.InstanceID, c.ProjectID, c.RoleKeys); err != nil {
			return err
		}
		now := s.clock()
		after, err := tx.ProjectGrantUpdate(ctx, &store.ProjectGrantUpdateParams{Grant: &c, Now: now})
		if err != nil {
			return err
		}
		out = after
		return projectGrantEvent(ctx, tx, actor, after, iam.EventProjectGrantChanged,
			map[string]any{"before": projectGrantSnapshot(before), "after": projectGrantSnapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "project grant")
	}
	return out, nil
}

// DeleteProjectGrant deletes the grant at version, and with it the user
// grants made under it, with its "project_grant.deleted" event.
func (s *Service) DeleteProjectGrant(ctx context.Context, actor, instanceID, orgID, projectID, id string, version int64) error {
	if err := required("org_id", orgID, "project_id", projectID, "grant_id", id); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id})
		if err != nil {
			return err
		}
		if err := tx.ProjectGrantDelete(ctx, &store.ProjectGrantDeleteParams{InstanceID: instanceID, OrgID: orgID, ProjectID: projectID, ID: id, Version: version}); err != nil {
			return err
		}
		return projectGrantEvent(ctx, tx, actor, before, iam.EventProjectGrantDeleted, map[string]any{"before": projectGrantSnapshot(before)}, s.clock())
	})
	return store.DomainError(err, "project grant")
}

// CreateUserGrant gives the user g.UserID of organization g.OrgID the roles
// g.RoleKeys of project g.ProjectID, with its "user_grant.created" event.
//
// The user must belong to g.OrgID (NotFound naming user_id). The project
// must be owned by g.OrgID — then every role key must be a role of the
// project — or granted to g.OrgID by a project grant, which must be active
// (FailedPrecondition) and whose roles bound the keys; g.ProjectGrantID is
// then set to it (any value given is ignored). Otherwise NotFound naming
// project_id. A user has one grant per project (AlreadyExists). g.ID is
// generated unless set (bootstrap); g.State defaults to active.
func (s *Service) CreateUserGrant(ctx context.Context, actor string, g *iam.UserGrant) (*iam.UserGrant, error) {
	c := *g
	g = &c
	g.RoleKeys = slices.Clone(g.RoleKeys)
	g.ProjectGrantID = ""
	if g.ID == "" {
		g.ID = iam.NewID()
	} else if err := checkFixedID("id", g.ID); err != nil {
		return nil, err
	}
	if g.State == "" {
		g.State = iam.StateActive
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	var out *iam.UserGrant
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ID: g.UserID}); err != nil {
			return notFound(err, "user_id", "user")
		}
		grantID, err := checkGrantable(ctx, tx, g.InstanceID, g.OrgID, g.ProjectID, "", g.RoleKeys)
		if err != nil {
			return err
		}
		g.ProjectGrantID = grantID
		now := s.clock()
		created, err := tx.UserGrantCreate(ctx, &store.UserGrantCreateParams{Grant: g, Now: now})
		if err != nil {
			return err
		}
		out = created
		return userGrantEvent(ctx, tx, actor, created, iam.EventUserGrantCreated, map[string]any{"after": userGrantSnapshot(created)}, now)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &iam.Error{Code: iam.AlreadyExists, Field: "project_id", Message: "the user already has a grant on this project; update it instead", Err: err}
	}
	if err != nil {
		return nil, store.DomainError(err, "user grant")
	}
	return out, nil
}

// checkGrantable checks that organization orgID may give keys of the
// project: as its owner (the keys are project roles) or through the active
// project grant grantID (or, if grantID is "", the grant of the project to
// orgID; its roles bound the keys). It returns the project grant's ID, ""
// for an owned project. The project grant stays locked until the
// transaction ends, so that its roles cannot shrink meanwhile.
func checkGrantable(ctx context.Context, tx store.Queries, instanceID, orgID, projectID, grantID string, keys []string) (string, error) {
	var pg *iam.ProjectGrant
	if grantID == "" {
		_, err := tx.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: instanceID, OrgID: orgID, ID: projectID})
		if err == nil {
			return "", checkProjectRoles(ctx, tx, instanceID, projectID, keys)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		grants, err := tx.ProjectGrantList(ctx, &store.ProjectGrantListParams{InstanceID: instanceID, ProjectID: projectID, GrantedOrgID: orgID, Limit: 1, ForUpdate: true})
		if err != nil {
			return "", err
		}
		if len(grants) == 0 {
			return "", &iam.Error{Code: iam.NotFound, Field: "project_id", Message: "project not found in the organization or granted to it"}
		}
		pg = grants[0]
		if pg.State != iam.StateActive {
			return "", iam.Errorf(iam.FailedPrecondition, "the project grant to this organization is inactive")
		}
	} else {
		var err error
		pg, err = tx.ProjectGrantGet(ctx, &store.ProjectGrantGetParams{InstanceID: instanceID, ProjectID: projectID, ID: grantID, ForUpdate: true})
		if err != nil {
			return "", err
		}
	}
	return pg.ID, checkSubset(keys, pg.RoleKeys, "the project grant to this organization does not include role %q")
}

// GetUserGrant returns the grant id of the organization.
func (s *Service) GetUserGrant(ctx context.Context, instanceID, orgID, id string) (*iam.UserGrant, error) {
	if err := required("org_id", orgID, "grant_id", id); err != nil {
		return nil, err
	}
	g, err := s.store.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: instanceID, OrgID: orgID, ID: id})
	if err != nil {
		return nil, store.DomainError(err, "user grant")
	}
	return g, nil
}

// ListUserGrantsParams select user grants of an organization.
type ListUserGrantsParams struct {
	InstanceID string
	OrgID      string
	// UserID and ProjectID filter if set.
	UserID    string
	ProjectID string
	// AfterID is the cursor: the ID of the last grant of the previous page.
	// Results are ordered by ID.
	AfterID string
	Limit   int
}

// ListUserGrants returns up to p.Limit user grants of the organization after
// the cursor; NotFound if the instance has no such organization.
func (s *Service) ListUserGrants(ctx context.Context, p ListUserGrantsParams) ([]*iam.UserGrant, error) {
	if err := required("org_id", p.OrgID); err != nil {
		return nil, err
	}
	if _, err := s.store.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: p.InstanceID, ID: p.OrgID}); err != nil {
		return nil, store.DomainError(notFound(err, "org_id", "organization"), "organization")
	}
	list, err := s.store.UserGrantList(ctx, &store.UserGrantListParams{
		InstanceID: p.InstanceID, OrgID: p.OrgID, UserID: p.UserID, ProjectID: p.ProjectID, AfterID: p.AfterID, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "user grants")
	}
	return list, nil
}

// ListUserGrantsForUser returns the grants of a user in the instance,
// optionally of one project and only those in effect (activeOnly: the
// grant, its project and its project grant are active), for tokens.
func (s *Service) ListUserGrantsForUser(ctx context.Context, instanceID, userID, projectID string, activeOnly bool) ([]*iam.UserGrant, error) {
	list, err := s.store.UserGrantListForUser(ctx, &store.UserGrantListForUserParams{
		InstanceID: instanceID, UserID: userID, ProjectID: projectID, ActiveOnly: activeOnly,
	})
	if err != nil {
		return nil, store.DomainError(err, "user grants")
	}
	return list, nil
}

// UpdateUserGrant replaces the role keys and, if g.State is set, the state
// of the grant (g.InstanceID, g.OrgID, g.ID) at g.Version, with its
// "user_grant.changed" event. The keys are bounded as on create: by the
// project's roles, or by the roles of the grant's project grant.
func (s *Service) UpdateUserGrant(ctx context.Context, actor string, g *iam.UserGrant) (*iam.UserGrant, error) {
	if err := required("org_id", g.OrgID, "grant_id", g.ID); err != nil {
		return nil, err
	}
	var out *iam.UserGrant
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: g.InstanceID, OrgID: g.OrgID, ID: g.ID})
		if err != nil {
			return err
		}
		c := *before
		c.RoleKeys, c.Version = slices.Clone(g.RoleKeys), g.Version
		if g.State != "" {
			c.State = g.State
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Version != g.Version {
			return store.ErrConflict
		}
		if c.State == before.State && slices.Equal(sortedKeys(c.RoleKeys), before.RoleKeys) {
			out = before
			return nil
		}
		if c.ProjectGrantID == "" {
			err = checkProjectRoles(ctx, tx, c.InstanceID, c.ProjectID, c.RoleKeys)
		} else {
			_, err = checkGrantable(ctx, tx, c.InstanceID, c.OrgID, c.ProjectID, c.ProjectGrantID, c.RoleKeys)
		}
		if err != nil {
			return err
		}
		now := s.clock()
		after, err := tx.UserGrantUpdate(ctx, &store.UserGrantUpdateParams{Grant: &c, Now: now})
		if err != nil {
			return err
		}
		out = after
		return userGrantEvent(ctx, tx, actor, after, iam.EventUserGrantChanged,
			map[string]any{"before": userGrantSnapshot(before), "after": userGrantSnapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "user grant")
	}
	return out, nil
}

// DeleteUserGrant deletes the grant at version, with its
// "user_grant.deleted" event.
func (s *Service) DeleteUserGrant(ctx context.Context, actor, instanceID, orgID, id string, version int64) error {
	if err := required("org_id", orgID, "grant_id", id); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.UserGrantGet(ctx, &store.UserGrantGetParams{InstanceID: instanceID, OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if err := tx.UserGrantDelete(ctx, &store.UserGrantDeleteParams{InstanceID: instanceID, OrgID: orgID, ID: id, Version: version}); err != nil {
			return err
		}
		return userGrantEvent(ctx, tx, actor, before, iam.EventUserGrantDeleted, map[string]any{"before": userGrantSnapshot(before)}, s.clock())
	})
	return store.DomainError(err, "user grant")
}

func projectGrantSnapshot(g *iam.ProjectGrant) map[string]any {
	return map[string]any{
		"org_id": g.OrgID, "project_id": g.ProjectID, "granted_org_id": g.GrantedOrgID, "role_keys": g.RoleKeys,
		"state": g.State, "version": g.Version,
	}
}

func userGrantSnapshot(g *iam.UserGrant) map[string]any {
	return map[string]any{
		"org_id": g.OrgID, "user_id": g.UserID, "project_id": g.ProjectID, "project_grant_id": g.ProjectGrantID,
		"role_keys": g.RoleKeys, "state": g.State, "version": g.Version,
	}
}

func projectGrantEvent(ctx context.Context, tx store.Queries, actor string, g *iam.ProjectGrant, typ string, payload any, now time.Time) error {
	return event(ctx, tx, actor, g.InstanceID, iam.AggregateProjectGrant, g.ID, typ, payload, now)
}

func userGrantEvent(ctx context.Context, tx store.Queries, actor string, g *iam.UserGrant, typ string, payload any, now time.Time) error {
	return event(ctx, tx, actor, g.InstanceID, iam.AggregateUserGrant, g.ID, typ, payload, now)
}
