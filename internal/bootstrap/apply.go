package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

// Actor is the audit actor of everything the bootstrap creates.
const Actor = "system:bootstrap"

// Services are what the bootstrap writes through: the same services the
// admin API uses, so every rule and audit event applies.
type Services struct {
	Store     store.Store
	Secrets   *crypto.SecretHasher
	Instances *instance.Service
	Orgs      *org.Service
	Users     *user.Service
	Projects  *project.Service
	Members   *member.Service
	// Policies sets the declared policies; required only if the file
	// declares some.
	Policies *policy.Service
	Log      *slog.Logger
}

// Result counts what Apply did.
type Result struct {
	Created, Existing int
}

type applier struct {
	Services
	ctx context.Context
	res Result
}

// Apply validates f and brings the database to it: every declared object
// that is missing is created, existing ones are left untouched. It is safe
// to run at every start and from several nodes at once.
func (s Services) Apply(ctx context.Context, f *File) (Result, error) {
	now := time.Now()
	if err := Validate(f, now); err != nil {
		return Result{}, err
	}
	a := &applier{Services: s, ctx: ctx}
	anySystem := false
	for _, in := range f.Instances {
		anySystem = anySystem || in.System
	}
	for i := range f.Instances {
		in := &f.Instances[i]
		makeSystem := in.System
		if !anySystem && i == 0 {
			// No instance is marked: the first becomes the system instance
			// unless one exists already.
			existing, err := s.Instances.List(ctx, "", 1000, "")
			if err != nil {
				return a.res, err
			}
			makeSystem = !hasSystem(existing)
		}
		if err := a.instance(fmt.Sprintf("instances[%d]", i), in, makeSystem); err != nil {
			return a.res, err
		}
	}
	return a.res, nil
}

func hasSystem(list []*iam.Instance) bool {
	for _, in := range list {
		if in.System {
			return true
		}
	}
	return false
}

// ensure runs find; if it finds nothing it runs create; if create loses a
// race (AlreadyExists) it finds again.
func ensure[T any](a *applier, path, what string, find func() (T, bool, error), create func() (T, error)) (T, error) {
	var zero T
	v, ok, err := find()
	if err != nil {
		return zero, fmt.Errorf("%s: look up %s: %w", path, what, err)
	}
	if ok {
		a.res.Existing++
		return v, nil
	}
	v, err = create()
	if iam.IsCode(err, iam.AlreadyExists) {
		if v, ok, ferr := find(); ferr == nil && ok {
			a.res.Existing++
			return v, nil
		}
	}
	if err != nil {
		return zero, fmt.Errorf("%s: create %s: %w", path, what, err)
	}
	a.res.Created++
	a.Log.Info("bootstrap created "+what, "path", path)
	return v, nil
}

func notFound(err error) bool { return iam.IsCode(err, iam.NotFound) }

func (a *applier) instance(p string, in *Instance, system bool) error {
	want := in.domain()
	want.System = system
	inst, err := ensure(a, p, "instance "+want.PrimaryDomain,
		func() (*iam.Instance, bool, error) {
			got, err := a.Instances.GetByHost(a.ctx, want.PrimaryDomain)
			if notFound(err) {
				return nil, false, nil
			}
			return got, err == nil, err
		},
		func() (*iam.Instance, error) { return a.Instances.Create(a.ctx, Actor, want) })
	if err != nil {
		return err
	}
	if inst.PrimaryDomain != want.PrimaryDomain {
		return fmt.Errorf("%s: domain %s belongs to instance %q, whose primary domain is %s", p, want.PrimaryDomain, inst.Name, inst.PrimaryDomain)
	}
	orgIDs := map[string]string{}
	for i := range in.Organizations {
		o := &in.Organizations[i]
		op := fmt.Sprintf("%s.organizations[%d]", p, i)
		created, err := a.org(op, inst.ID, o)
		if err != nil {
			return err
		}
		orgIDs[strings.ToLower(strings.TrimSpace(o.Name))] = created.ID
		for j := range o.Users {
			if err := a.user(fmt.Sprintf("%s.users[%d]", op, j), inst.ID, created.ID, &o.Users[j]); err != nil {
				return err
			}
		}
	}
	// Projects, grants and members refer to users and organizations
	// declared anywhere in the instance: create those first.
	for i := range in.Organizations {
		o := &in.Organizations[i]
		op := fmt.Sprintf("%s.organizations[%d]", p, i)
		orgID := orgIDs[strings.ToLower(strings.TrimSpace(o.Name))]
		for j := range o.Projects {
			if err := a.project(fmt.Sprintf("%s.projects[%d]", op, j), inst.ID, orgID, &o.Projects[j], orgIDs); err != nil {
				return err
			}
		}
	}
	for i := range in.Organizations {
		o := &in.Organizations[i]
		op := fmt.Sprintf("%s.organizations[%d]", p, i)
		orgID := orgIDs[strings.ToLower(strings.TrimSpace(o.Name))]
		for j, g := range o.UserGrants {
			if err := a.userGrant(fmt.Sprintf("%s.user-grants[%d]", op, j), inst.ID, orgID, g); err != nil {
				return err
			}
		}
		for j, m := range o.Members {
			t := iam.MemberTarget{Scope: iam.ScopeOrg, OrgID: orgID}
			if err := a.member(fmt.Sprintf("%s.members[%d]", op, j), inst.ID, t, m); err != nil {
				return err
			}
		}
	}
	for j, m := range in.Members {
		if err := a.member(fmt.Sprintf("%s.members[%d]", p, j), inst.ID, iam.MemberTarget{Scope: iam.ScopeInstance}, m); err != nil {
			return err
		}
	}
	return a.policies(p+".policies", inst.ID, in.Policies)
}

func (a *applier) org(p, instanceID string, o *Organization) (*iam.Organization, error) {
	want := o.domain()
	want.ID, want.InstanceID = "", instanceID
	return ensure(a, p, "organization "+want.Name,
		func() (*iam.Organization, bool, error) {
			list, err := a.Orgs.List(a.ctx, instanceID, org.ListQuery{NamePrefix: want.Name, Limit: 1})
			if err != nil || len(list) == 0 || !strings.EqualFold(list[0].Name, want.Name) {
				return nil, false, err
			}
			return list[0], true, nil
		},
		func() (*iam.Organization, error) { return a.Orgs.Create(a.ctx, Actor, want) })
}

func (a *applier) findUser(instanceID, loginName string) (*iam.User, bool, error) {
	u, err := a.Store.UserGetByLoginName(a.ctx, &store.UserGetByLoginNameParams{InstanceID: instanceID, LoginName: strings.TrimSpace(loginName)})
	if errors.Is(err, store.ErrNotFound) || notFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, store.DomainError(err, "user")
	}
	return u, true, nil
}

func (a *applier) user(p, instanceID, orgID string, u *User) error {
	d := u.domain()
	got, err := ensure(a, p, "user "+d.LoginName,
		func() (*iam.User, bool, error) { return a.findUser(instanceID, d.LoginName) },
		func() (*iam.User, error) {
			if d.Type == iam.UserMachine {
				return a.Users.CreateMachine(a.ctx, Actor, &user.NewMachine{InstanceID: instanceID, OrgID: orgID, LoginName: d.LoginName,
					Profile: *d.Machine, ClientSecret: u.ClientSecret})
			}
			return a.Users.CreateHuman(a.ctx, Actor, &user.NewHuman{InstanceID: instanceID, OrgID: orgID, LoginName: d.LoginName,
				Profile: *d.Human, Password: u.Password, PasswordHash: u.PasswordHash})
		})
	if err != nil {
		return err
	}
	if got.OrgID != orgID {
		return fmt.Errorf("%s: login name %q is taken by a user of another organization", p, d.LoginName)
	}
	for k, pat := range u.PersonalAccessTokens {
		pp := fmt.Sprintf("%s.personal-access-tokens[%d]", p, k)
		_, err := ensure(a, pp, "personal access token",
			func() (*iam.PersonalAccessToken, bool, error) {
				t, owner, err := a.Store.PersonalAccessTokenGetByHash(a.ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: instanceID, Hash: a.Secrets.Hash(pat.Token)})
				if errors.Is(err, store.ErrNotFound) {
					return nil, false, nil
				}
				if err == nil && owner.ID != got.ID {
					return nil, false, fmt.Errorf("the token belongs to another user")
				}
				return t, err == nil, err
			},
			func() (*iam.PersonalAccessToken, error) {
				t, _, err := a.Users.AddPAT(a.ctx, Actor, user.Ref{InstanceID: instanceID, OrgID: orgID, ID: got.ID}, &user.NewPAT{ExpiresAt: pat.ExpiresAt, Token: pat.Token})
				return t, err
			})
		if err != nil {
			return err
		}
	}
	ref := user.Ref{InstanceID: instanceID, OrgID: orgID, ID: got.ID}
	for k, key := range u.MachineKeys {
		want := canonicalKey(key.PublicKey)
		_, err := ensure(a, fmt.Sprintf("%s.machine-keys[%d]", p, k), "machine key",
			func() (*iam.MachineKey, bool, error) { return a.findMachineKey(ref, want) },
			func() (*iam.MachineKey, error) {
				mk, _, err := a.Users.AddMachineKey(a.ctx, Actor, ref, &user.NewMachineKey{PublicKeyPEM: key.PublicKey, ExpiresAt: key.ExpiresAt})
				return mk, err
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// canonicalKey returns the canonical PEM of a public key, "" if it does not
// parse (never equal to a valid key's).
func canonicalKey(pem string) string {
	k, err := project.ParsePublicKey(pem)
	if err != nil {
		return ""
	}
	return k.PEM
}

// findMachineKey finds the key of the machine user with the canonical PEM
// want among all its keys.
func (a *applier) findMachineKey(ref user.Ref, want string) (*iam.MachineKey, bool, error) {
	after := ""
	for {
		page, err := a.Users.ListMachineKeys(a.ctx, ref, after, 1000)
		if err != nil {
			return nil, false, err
		}
		for _, k := range page {
			if canonicalKey(k.PublicKeyPEM) == want {
				return k, true, nil
			}
		}
		if len(page) < 1000 {
			return nil, false, nil
		}
		after = page[len(page)-1].ID
	}
}

func (a *applier) project(p, instanceID, orgID string, pr *Project, orgIDs map[string]string) error {
	name := strings.TrimSpace(pr.Name)
	got, err := ensure(a, p, "project "+name,
		func() (*iam.Project, bool, error) { return a.findProject(instanceID, orgID, name) },
		func() (*iam.Project, error) {
			return a.Projects.CreateProject(a.ctx, Actor, &iam.Project{InstanceID: instanceID, OrgID: orgID, Name: name, RoleAssertion: pr.RoleAssertion})
		})
	if err != nil {
		return err
	}
	for i, r := range pr.Roles {
		_, err := ensure(a, fmt.Sprintf("%s.roles[%d]", p, i), "role "+r.Key,
			func() (*iam.ProjectRole, bool, error) {
				list, err := a.Projects.ListProjectRoles(a.ctx, project.ListProjectRolesParams{InstanceID: instanceID, OrgID: orgID, ProjectID: got.ID, KeyPrefix: r.Key, Limit: 1})
				if err != nil || len(list) == 0 || list[0].Key != r.Key {
					return nil, false, err
				}
				return list[0], true, nil
			},
			func() (*iam.ProjectRole, error) {
				return a.Projects.AddProjectRole(a.ctx, Actor, orgID, &iam.ProjectRole{InstanceID: instanceID, ProjectID: got.ID, Key: r.Key, DisplayName: r.DisplayName, Group: r.Group})
			})
		if err != nil {
			return err
		}
	}
	for i, app := range pr.Applications {
		ap := fmt.Sprintf("%s.applications[%d]", p, i)
		existing, err := ensure(a, ap, "application "+app.ClientID,
			func() (*iam.Application, bool, error) {
				got, err := a.Projects.GetApplicationByClientID(a.ctx, instanceID, app.ClientID)
				if notFound(err) {
					return nil, false, nil
				}
				return got, err == nil, err
			},
			func() (*iam.Application, error) {
				d := app.domain()
				d.ID, d.InstanceID, d.OrgID, d.ProjectID = "", instanceID, orgID, got.ID
				created, _, err := a.Projects.CreateApplication(a.ctx, Actor, d, app.ClientSecret)
				return created, err
			})
		if err != nil {
			return err
		}
		if existing.ProjectID != got.ID {
			return fmt.Errorf("%s: client ID %q is used by an application of another project", ap, app.ClientID)
		}
		for k, key := range app.Keys {
			want := canonicalKey(key.PublicKey)
			_, err := ensure(a, fmt.Sprintf("%s.keys[%d]", ap, k), "application key",
				func() (*iam.ApplicationKey, bool, error) {
					list, err := a.Projects.ListApplicationKeys(a.ctx, project.ListApplicationKeysParams{
						InstanceID: instanceID, OrgID: existing.OrgID, ProjectID: existing.ProjectID, AppID: existing.ID})
					for _, have := range list {
						if canonicalKey(have.PublicKeyPEM) == want {
							return have, true, nil
						}
					}
					return nil, false, err
				},
				func() (*iam.ApplicationKey, error) {
					return a.Projects.AddApplicationKey(a.ctx, Actor, instanceID, existing.OrgID, existing.ProjectID, existing.ID, key.PublicKey, key.ExpiresAt)
				})
			if err != nil {
				return err
			}
		}
	}
	for i, g := range pr.Grants {
		gp := fmt.Sprintf("%s.grants[%d]", p, i)
		grantedOrg, ok := orgIDs[strings.ToLower(strings.TrimSpace(g.Organization))]
		if !ok {
			list, err := a.Orgs.List(a.ctx, instanceID, org.ListQuery{NamePrefix: g.Organization, Limit: 1})
			if err != nil {
				return fmt.Errorf("%s: %w", gp, err)
			}
			if len(list) == 0 || !strings.EqualFold(list[0].Name, strings.TrimSpace(g.Organization)) {
				return fmt.Errorf("%s: organization: no organization %q in this instance", gp, g.Organization)
			}
			grantedOrg = list[0].ID
		}
		_, err := ensure(a, gp, "project grant to "+g.Organization,
			func() (*iam.ProjectGrant, bool, error) {
				list, err := a.Projects.ListProjectGrants(a.ctx, project.ListProjectGrantsParams{InstanceID: instanceID, OrgID: orgID, ProjectID: got.ID, Limit: 1000})
				for _, pg := range list {
					if pg.GrantedOrgID == grantedOrg {
						return pg, true, nil
					}
				}
				return nil, false, err
			},
			func() (*iam.ProjectGrant, error) {
				return a.Projects.CreateProjectGrant(a.ctx, Actor, &iam.ProjectGrant{InstanceID: instanceID, OrgID: orgID, ProjectID: got.ID, GrantedOrgID: grantedOrg, RoleKeys: g.Roles})
			})
		if err != nil {
			return err
		}
	}
	for j, m := range pr.Members {
		t := iam.MemberTarget{Scope: iam.ScopeProject, OrgID: orgID, ProjectID: got.ID}
		if err := a.member(fmt.Sprintf("%s.members[%d]", p, j), instanceID, t, m); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) findProject(instanceID, orgID, name string) (*iam.Project, bool, error) {
	list, err := a.Projects.ListProjects(a.ctx, project.ListProjectsParams{InstanceID: instanceID, OrgID: orgID, NamePrefix: name, Limit: 1})
	if err != nil || len(list) == 0 || !strings.EqualFold(list[0].Name, name) {
		return nil, false, err
	}
	return list[0], true, nil
}

// findGrantedProject finds a project by name owned by orgID or granted to it.
func (a *applier) findGrantedProject(instanceID, orgID, name string) (*iam.Project, error) {
	if p, ok, err := a.findProject(instanceID, orgID, name); err != nil || ok {
		return p, err
	}
	// Granted projects: search the instance's organizations' projects.
	orgs, err := a.Orgs.List(a.ctx, instanceID, org.ListQuery{Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		p, ok, err := a.findProject(instanceID, o.ID, name)
		if err != nil || !ok {
			continue
		}
		grants, err := a.Projects.ListProjectGrants(a.ctx, project.ListProjectGrantsParams{InstanceID: instanceID, OrgID: o.ID, ProjectID: p.ID, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if g.GrantedOrgID == orgID {
				return p, nil
			}
		}
	}
	return nil, nil
}

func (a *applier) userGrant(p, instanceID, orgID string, g UserGrant) error {
	u, ok, err := a.findUser(instanceID, g.User)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !ok || u.OrgID != orgID {
		return fmt.Errorf("%s: user: no user %q in this organization", p, g.User)
	}
	pr, err := a.findGrantedProject(instanceID, orgID, strings.TrimSpace(g.Project))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if pr == nil {
		return fmt.Errorf("%s: project: no project %q owned by or granted to this organization", p, g.Project)
	}
	_, err = ensure(a, p, "user grant for "+g.User,
		func() (*iam.UserGrant, bool, error) {
			list, err := a.Projects.ListUserGrants(a.ctx, project.ListUserGrantsParams{InstanceID: instanceID, OrgID: orgID, UserID: u.ID, ProjectID: pr.ID, Limit: 1})
			if err != nil || len(list) == 0 {
				return nil, false, err
			}
			return list[0], true, nil
		},
		func() (*iam.UserGrant, error) {
			return a.Projects.CreateUserGrant(a.ctx, Actor, &iam.UserGrant{InstanceID: instanceID, OrgID: orgID, UserID: u.ID, ProjectID: pr.ID, RoleKeys: g.Roles})
		})
	return err
}

func (a *applier) member(p, instanceID string, t iam.MemberTarget, m Member) error {
	u, ok, err := a.findUser(instanceID, m.User)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !ok {
		return fmt.Errorf("%s: user: no user %q in this instance", p, m.User)
	}
	roles := make([]iam.MemberRole, len(m.Roles))
	for i, r := range m.Roles {
		roles[i] = iam.MemberRole(strings.ToUpper(r))
	}
	_, err = ensure(a, p, "membership of "+m.User,
		func() (*iam.Membership, bool, error) {
			list, err := a.Members.List(a.ctx, member.ListParams{InstanceID: instanceID, Target: t, UserID: u.ID, Limit: 1})
			if err != nil || len(list) == 0 {
				return nil, false, err
			}
			return list[0], true, nil
		},
		func() (*iam.Membership, error) {
			return a.Members.Add(a.ctx, Actor, &iam.Membership{InstanceID: instanceID, Scope: t.Scope, OrgID: t.OrgID, ProjectID: t.ProjectID, UserID: u.ID, Roles: roles})
		})
	return err
}
