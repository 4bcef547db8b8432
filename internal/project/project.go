package project

import (
	"context"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// CreateProject validates and stores a new project of p.OrgID in
// p.InstanceID with its "project.created" event. p.ID is generated unless
// set (bootstrap); p.State defaults to active. The organization must exist
// (NotFound naming org_id); names are unique per organization,
// case-insensitively (AlreadyExists).
func (s *Service) CreateProject(ctx context.Context, actor string, p *iam.Project) (*iam.Project, error) {
	c := *p
	p = &c
	if p.ID == "" {
		p.ID = iam.NewID()
	} else if err := checkFixedID("id", p.ID); err != nil {
		return nil, err
	}
	if p.State == "" {
		p.State = iam.StateActive
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Project
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: p.InstanceID, ID: p.OrgID}); err != nil {
			return notFound(err, "org_id", "organization")
		}
		now := s.clock()
		created, err := tx.ProjectCreate(ctx, &store.ProjectCreateParams{Project: p, Now: now})
		if err != nil {
			return err
		}
		out = created
		return projectEvent(ctx, tx, actor, created, iam.EventProjectCreated, map[string]any{"after": projectSnapshot(created)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "project")
	}
	return out, nil
}

// GetProject returns the project id of the organization.
func (s *Service) GetProject(ctx context.Context, instanceID, orgID, id string) (*iam.Project, error) {
	if err := required("org_id", orgID, "project_id", id); err != nil {
		return nil, err
	}
	p, err := s.store.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: instanceID, OrgID: orgID, ID: id})
	if err != nil {
		return nil, store.DomainError(err, "project")
	}
	return p, nil
}

// ListProjectsParams select projects of an organization.
type ListProjectsParams struct {
	InstanceID string
	OrgID      string
	// NamePrefix keeps projects whose name starts with it, case-insensitively.
	NamePrefix string
	// State keeps projects in this state if set.
	State iam.State
	// AfterKey and AfterID are the cursor: the NameKey and ID of the last
	// project of the previous page. Results are ordered by name key and ID.
	AfterKey string
	AfterID  string
	Limit    int
}

// ListProjects returns up to p.Limit projects of the organization after the
// cursor; NotFound if the instance has no such organization.
func (s *Service) ListProjects(ctx context.Context, p ListProjectsParams) ([]*iam.Project, error) {
	if err := required("org_id", p.OrgID); err != nil {
		return nil, err
	}
	if p.State != "" && !p.State.Valid() {
		return nil, &iam.Error{Code: iam.Invalid, Field: "state", Message: "unknown state"}
	}
	if _, err := s.store.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: p.InstanceID, ID: p.OrgID}); err != nil {
		return nil, store.DomainError(notFound(err, "org_id", "organization"), "organization")
	}
	list, err := s.store.ProjectList(ctx, &store.ProjectListParams{
		InstanceID: p.InstanceID, OrgID: p.OrgID, NamePrefix: p.NamePrefix, State: p.State,
		AfterKey: p.AfterKey, AfterID: p.AfterID, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "projects")
	}
	return list, nil
}

// UpdateProject replaces name, role assertion and state of the project
// (p.InstanceID, p.OrgID, p.ID) at p.Version (else Conflict), with its
// "project.changed" event. An empty p.State keeps the state.
func (s *Service) UpdateProject(ctx context.Context, actor string, p *iam.Project) (*iam.Project, error) {
	if err := required("org_id", p.OrgID, "project_id", p.ID); err != nil {
		return nil, err
	}
	var out *iam.Project
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: p.InstanceID, OrgID: p.OrgID, ID: p.ID})
		if err != nil {
			return err
		}
		c := *before
		c.Name, c.RoleAssertion, c.Version = p.Name, p.RoleAssertion, p.Version
		if p.State != "" {
			c.State = p.State
		}
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		if before.Version != p.Version {
			return store.ErrConflict
		}
		if c.Name == before.Name && c.RoleAssertion == before.RoleAssertion && c.State == before.State {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.ProjectUpdate(ctx, &store.ProjectUpdateParams{Project: &c, Now: now})
		if err != nil {
			return err
		}
		out = after
		// Role assertion and state are part of the cached ProjectAudience.
		if err := tx.CacheInvalidate(ctx, store.TopicAppInstance, after.InstanceID); err != nil {
			return err
		}
		return projectEvent(ctx, tx, actor, after, iam.EventProjectChanged,
			map[string]any{"before": projectSnapshot(before), "after": projectSnapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "project")
	}
	return out, nil
}

// DeleteProject deletes the project at version with its roles,
// applications, project grants, user grants and memberships, with its
// "project.deleted" event.
func (s *Service) DeleteProject(ctx context.Context, actor, instanceID, orgID, id string, version int64) error {
	if err := required("org_id", orgID, "project_id", id); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: instanceID, OrgID: orgID, ID: id})
		if err != nil {
			return err
		}
		if err := tx.ProjectDelete(ctx, &store.ProjectDeleteParams{InstanceID: instanceID, OrgID: orgID, ID: id, Version: version}); err != nil {
			return err
		}
		// Its applications went with it (cascade): drop the instance's
		// cached applications everywhere.
		if err := tx.CacheInvalidate(ctx, store.TopicAppInstance, instanceID); err != nil {
			return err
		}
		return projectEvent(ctx, tx, actor, before, iam.EventProjectDeleted, map[string]any{"before": projectSnapshot(before)}, s.clock())
	})
	return store.DomainError(err, "project")
}

// AddProjectRole validates and stores a role of the project
// (r.InstanceID, orgID, r.ProjectID), with its "project.role_added" event.
// Keys are unique per project (AlreadyExists).
func (s *Service) AddProjectRole(ctx context.Context, actor, orgID string, r *iam.ProjectRole) (*iam.ProjectRole, error) {
	c := *r
	r = &c
	r.Normalize()
	if err := required("org_id", orgID); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out *iam.ProjectRole
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := getProject(ctx, tx, r.InstanceID, orgID, r.ProjectID); err != nil {
			return err
		}
		now := s.clock()
		created, err := tx.ProjectRoleCreate(ctx, &store.ProjectRoleCreateParams{Role: r, Now: now})
		if err != nil {
			return err
		}
		out = created
		return event(ctx, tx, actor, r.InstanceID, iam.AggregateProject, r.ProjectID, iam.EventProjectRoleAdded,
			map[string]any{"after": roleSnapshot(created)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "project role")
	}
	return out, nil
}

// ListProjectRolesParams select roles of a project.
type ListProjectRolesParams struct {
	InstanceID string
	OrgID      string
	ProjectID  string
	// KeyPrefix keeps roles whose key starts with it (case-sensitive).
	KeyPrefix string
	// AfterKey is the cursor: the key of the last role of the previous page.
	AfterKey string
	Limit    int
}

// ListProjectRoles returns up to p.Limit roles of the project, ordered by
// key, after the cursor.
func (s *Service) ListProjectRoles(ctx context.Context, p ListProjectRolesParams) ([]*iam.ProjectRole, error) {
	if err := required("org_id", p.OrgID, "project_id", p.ProjectID); err != nil {
		return nil, err
	}
	if _, err := getProject(ctx, s.store, p.InstanceID, p.OrgID, p.ProjectID); err != nil {
		return nil, store.DomainError(err, "project")
	}
	out, err := s.store.ProjectRoleList(ctx, &store.ProjectRoleListParams{
		InstanceID: p.InstanceID, ProjectID: p.ProjectID, KeyPrefix: p.KeyPrefix, AfterKey: p.AfterKey, Limit: p.Limit,
	})
	if err != nil {
		return nil, store.DomainError(err, "project roles")
	}
	return out, nil
}

// UpdateProjectRole replaces display name and group of the role
// (r.InstanceID, orgID, r.ProjectID, r.Key) at r.Version, with its
// "project.role_changed" event.
func (s *Service) UpdateProjectRole(ctx context.Context, actor, orgID string, r *iam.ProjectRole) (*iam.ProjectRole, error) {
	c := *r
	r = &c
	r.Normalize()
	if err := required("org_id", orgID); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out *iam.ProjectRole
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := getProject(ctx, tx, r.InstanceID, orgID, r.ProjectID); err != nil {
			return err
		}
		before, err := tx.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: r.InstanceID, ProjectID: r.ProjectID, Key: r.Key})
		if err != nil {
			return err
		}
		if before.Version != r.Version {
			return store.ErrConflict
		}
		if before.DisplayName == r.DisplayName && before.Group == r.Group {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.ProjectRoleUpdate(ctx, &store.ProjectRoleUpdateParams{Role: r, Now: now})
		if err != nil {
			return err
		}
		out = after
		return event(ctx, tx, actor, r.InstanceID, iam.AggregateProject, r.ProjectID, iam.EventProjectRoleChanged,
			map[string]any{"before": roleSnapshot(before), "after": roleSnapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "project role")
	}
	return out, nil
}

// RemoveProjectRole deletes the role and, through the database's foreign
// keys in the same statement, removes it from every project grant and user
// grant; with its "project.role_removed" event.
func (s *Service) RemoveProjectRole(ctx context.Context, actor, instanceID, orgID, projectID, key string) error {
	if err := required("org_id", orgID, "project_id", projectID, "key", key); err != nil {
		return err
	}
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		if _, err := getProject(ctx, tx, instanceID, orgID, projectID); err != nil {
			return err
		}
		before, err := tx.ProjectRoleGet(ctx, &store.ProjectRoleGetParams{InstanceID: instanceID, ProjectID: projectID, Key: key})
		if err != nil {
			return err
		}
		if err := tx.ProjectRoleDelete(ctx, &store.ProjectRoleDeleteParams{InstanceID: instanceID, ProjectID: projectID, Key: key, Version: before.Version}); err != nil {
			return err
		}
		return event(ctx, tx, actor, instanceID, iam.AggregateProject, projectID, iam.EventProjectRoleRemoved,
			map[string]any{"before": roleSnapshot(before)}, s.clock())
	})
	return store.DomainError(err, "project role")
}

func projectSnapshot(p *iam.Project) map[string]any {
	return map[string]any{
		"org_id": p.OrgID, "name": p.Name, "role_assertion": p.RoleAssertion, "state": p.State, "version": p.Version,
	}
}

func roleSnapshot(r *iam.ProjectRole) map[string]any {
	return map[string]any{"key": r.Key, "display_name": r.DisplayName, "group": r.Group, "version": r.Version}
}

func projectEvent(ctx context.Context, tx store.Queries, actor string, p *iam.Project, typ string, payload any, now time.Time) error {
	return event(ctx, tx, actor, p.InstanceID, iam.AggregateProject, p.ID, typ, payload, now)
}
