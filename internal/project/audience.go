package project

import (
	"context"
	"slices"

	"github.com/rampartiam/rampart/internal/store"
)

// ProjectAudience returns what tokens need of a project of the instance (of
// any organization): whether it asserts roles and the client IDs of its
// active applications, which join the audience of tokens for the project.
// One query, or none when cached (Options.Cache); NotFound if the instance
// has no such project. The result is shared: do not modify it.
func (s *Service) ProjectAudience(ctx context.Context, instanceID, projectID string) (*store.ProjectAudience, error) {
	if err := required("project_id", projectID); err != nil {
		return nil, err
	}
	a, err := s.audiences.GetOrLoad(appKey{instanceID, projectID}, func() (*store.ProjectAudience, error) {
		return s.store.ProjectAudience(ctx, &store.ProjectAudienceParams{InstanceID: instanceID, ProjectID: projectID})
	})
	if err != nil {
		return nil, store.DomainError(err, "project")
	}
	return &store.ProjectAudience{ProjectID: a.ProjectID, RoleAssertion: a.RoleAssertion, ClientIDs: slices.Clone(a.ClientIDs)}, nil
}
