package bootstrap

import (
	"fmt"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/project"
)

// ValidationError lists every problem of a bootstrap file, each prefixed
// with its YAML path (e.g. "instances[0].organizations[1].users[2]").
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid init file:\n  - " + strings.Join(e.Problems, "\n  - ")
}

type checker struct {
	problems []string
	now      time.Time
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// domain runs a domain Validate and files its problem under path.
func (c *checker) domain(path string, err error) {
	if err != nil {
		msg := err.Error()
		if e, ok := err.(*iam.Error); ok {
			msg = e.Message
			if e.Field != "" && !strings.Contains(msg, ": ") {
				msg = e.Field + ": " + msg
			}
		}
		c.add(path, "%s", msg)
	}
}

// dup reports a key seen before in the same scope.
func (c *checker) dup(seen map[string]string, key, path, what string) {
	if key == "" {
		return
	}
	if first, ok := seen[key]; ok {
		c.add(path, "%s %q is declared twice (first at %s)", what, key, first)
		return
	}
	seen[key] = path
}

// Validate checks the whole file without touching a database: every field
// through the domain's own rules, duplicates, and references within the
// file. It reports every problem at once.
func Validate(f *File, now time.Time) error {
	c := &checker{now: now}
	if len(f.Instances) == 0 {
		c.add("instances", "declare at least one instance")
	}
	domains := map[string]string{}
	systems := 0
	for i, in := range f.Instances {
		p := fmt.Sprintf("instances[%d]", i)
		inst := in.domain()
		inst.ID, inst.State = "x", iam.InstanceActive
		c.domain(p, inst.Validate())
		for _, d := range inst.Domains() {
			c.dup(domains, d, p, "domain")
		}
		if in.System {
			systems++
		}
		c.instance(p, &in)
	}
	if systems > 1 {
		c.add("instances", "at most one instance may be the system instance")
	}
	if len(c.problems) > 0 {
		return &ValidationError{Problems: c.problems}
	}
	return nil
}

func (in *Instance) domain() *iam.Instance {
	d := &iam.Instance{Name: in.Name, PrimaryDomain: in.Domain, AdditionalDomains: append([]string(nil), in.AdditionalDomains...), System: in.System}
	d.Normalize()
	return d
}

func (c *checker) instance(p string, in *Instance) {
	orgs, logins, clientIDs := map[string]string{}, map[string]string{}, map[string]string{}
	for i, o := range in.Organizations {
		op := fmt.Sprintf("%s.organizations[%d]", p, i)
		org := o.domain()
		c.domain(op, org.Validate())
		c.dup(orgs, strings.ToLower(org.Name), op, "organization")
		for j, u := range o.Users {
			up := fmt.Sprintf("%s.users[%d]", op, j)
			c.user(up, &u)
			c.dup(logins, strings.ToLower(strings.TrimSpace(u.LoginName)), up, "login name")
		}
		roleKeys := map[string]map[string]bool{}
		projects := map[string]string{}
		for j, pr := range o.Projects {
			pp := fmt.Sprintf("%s.projects[%d]", op, j)
			c.project(pp, &pr, clientIDs)
			c.dup(projects, strings.ToLower(strings.TrimSpace(pr.Name)), pp, "project")
			keys := map[string]bool{}
			for _, r := range pr.Roles {
				keys[r.Key] = true
			}
			roleKeys[strings.ToLower(strings.TrimSpace(pr.Name))] = keys
		}
		for j, g := range o.UserGrants {
			gp := fmt.Sprintf("%s.user-grants[%d]", op, j)
			if strings.TrimSpace(g.User) == "" {
				c.add(gp, "user: the login name is required")
			}
			if strings.TrimSpace(g.Project) == "" {
				c.add(gp, "project: the project name is required")
			}
			if len(g.Roles) == 0 {
				c.add(gp, "roles: at least one role is required")
			}
			if keys, ok := roleKeys[strings.ToLower(strings.TrimSpace(g.Project))]; ok {
				for _, r := range g.Roles {
					if !keys[r] {
						c.add(gp, "roles: project %q declares no role %q", g.Project, r)
					}
				}
			}
		}
		c.members(op+".members", o.Members, iam.ScopeOrg)
	}
	c.members(p+".members", in.Members, iam.ScopeInstance)
	c.policies(p+".policies", in.Policies)
}

func (o *Organization) domain() *iam.Organization {
	d := &iam.Organization{ID: "x", InstanceID: "x", Name: o.Name, State: iam.StateActive}
	d.Normalize()
	return d
}

func (u *User) userType() iam.UserType {
	if u.Type == "" {
		return iam.UserHuman
	}
	return iam.UserType(u.Type)
}

func (u *User) domain() *iam.User {
	d := &iam.User{ID: "x", InstanceID: "x", OrgID: "x", Type: u.userType(), LoginName: u.LoginName, State: iam.UserActive}
	switch d.Type {
	case iam.UserHuman:
		d.Human = &iam.HumanProfile{Email: u.Email, EmailVerified: u.EmailVerified, GivenName: u.GivenName, FamilyName: u.FamilyName,
			PreferredLanguage: u.PreferredLanguage, PasswordChangeRequired: u.PasswordChangeRequired}
	case iam.UserMachine:
		d.Machine = &iam.MachineProfile{Name: u.Name, Description: u.Description}
	}
	d.Normalize()
	return d
}

func (c *checker) user(p string, u *User) {
	t := u.userType()
	if !t.Valid() {
		c.add(p, "type: must be human or machine, not %q", u.Type)
		return
	}
	c.domain(p, u.domain().Validate())
	switch t {
	case iam.UserHuman:
		if u.Password != "" && u.PasswordHash != "" {
			c.add(p, "password, password-hash: set one, not both")
		}
		if u.Password != "" && (len([]rune(u.Password)) < 8 || strings.TrimSpace(u.Password) == "") {
			c.add(p, "password: must have at least 8 characters")
		}
		if h := u.PasswordHash; h != "" && !strings.HasPrefix(h, "$argon2id$") && !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
			c.add(p, "password-hash: must be an argon2id or bcrypt hash in PHC/modular crypt format")
		}
		if u.Name != "" || u.Description != "" || u.ClientSecret != "" {
			c.add(p, "name, description and client-secret are for machine users")
		}
	case iam.UserMachine:
		if u.Email != "" || u.Password != "" || u.PasswordHash != "" || u.GivenName != "" || u.FamilyName != "" {
			c.add(p, "email, password, given-name and family-name are for human users")
		}
		if s := u.ClientSecret; s != "" && len(s) < 32 {
			c.add(p, "client-secret: must have at least 32 characters")
		}
	}
	if len(u.MachineKeys) > 0 && t != iam.UserMachine {
		c.add(p, "machine-keys are for machine users")
	}
	seen := map[string]string{}
	for k, key := range u.MachineKeys {
		kp := fmt.Sprintf("%s.machine-keys[%d]", p, k)
		if parsed := c.publicKey(kp, key, seen); parsed != nil && parsed.Curve != "" && parsed.Curve != "P-256" {
			c.add(kp, "public-key: machine keys must be RSA or ECDSA P-256, not %s", parsed.Type)
		}
		switch {
		case key.ExpiresAt.IsZero():
			c.add(kp, "expires-at: required (RFC 3339 time)")
		case key.ExpiresAt.After(c.now.AddDate(10, 0, 0)):
			c.add(kp, "expires-at: must be at most 10 years ahead")
		}
	}
	for k, pat := range u.PersonalAccessTokens {
		pp := fmt.Sprintf("%s.personal-access-tokens[%d]", p, k)
		if len(pat.Token) < 32 {
			c.add(pp, "token: must have at least 32 characters")
		}
		if pat.ExpiresAt.IsZero() {
			c.add(pp, "expires-at: required (RFC 3339 time)")
		} else if !pat.ExpiresAt.After(c.now) {
			c.add(pp, "expires-at: %s is in the past", pat.ExpiresAt.Format(time.RFC3339))
		}
	}
}

func (c *checker) project(p string, pr *Project, clientIDs map[string]string) {
	d := &iam.Project{ID: "x", InstanceID: "x", OrgID: "x", Name: pr.Name, RoleAssertion: pr.RoleAssertion, State: iam.StateActive}
	d.Normalize()
	c.domain(p, d.Validate())
	keys := map[string]string{}
	for i, r := range pr.Roles {
		rp := fmt.Sprintf("%s.roles[%d]", p, i)
		role := &iam.ProjectRole{InstanceID: "x", ProjectID: "x", Key: r.Key, DisplayName: r.DisplayName, Group: r.Group}
		role.Normalize()
		c.domain(rp, role.Validate())
		c.dup(keys, r.Key, rp, "role")
	}
	for i, a := range pr.Applications {
		ap := fmt.Sprintf("%s.applications[%d]", p, i)
		app := a.domain()
		app.ApplyDefaults()
		c.domain(ap, app.Validate())
		if a.ClientID == "" {
			c.add(ap, "client-id: required, so that the application can be found again at the next start")
		}
		c.dup(clientIDs, a.ClientID, ap, "client ID")
		if a.ClientSecret != "" {
			if !app.AuthMethod.UsesSecret() {
				c.add(ap, "client-secret: auth method %s uses no client secret", app.AuthMethod)
			} else if len(a.ClientSecret) < 32 {
				c.add(ap, "client-secret: must have at least 32 characters")
			}
		}
		if len(a.Keys) > 0 && app.Type.Valid() && app.Public() {
			c.add(ap, "keys: %s applications are public clients and have no keys", app.Type)
		}
		if len(a.Keys) > project.MaxApplicationKeys {
			c.add(ap, "keys: at most %d keys per application", project.MaxApplicationKeys)
		}
		seen := map[string]string{}
		for k, key := range a.Keys {
			c.publicKey(fmt.Sprintf("%s.keys[%d]", ap, k), key, seen)
		}
	}
	for i, g := range pr.Grants {
		gp := fmt.Sprintf("%s.grants[%d]", p, i)
		if strings.TrimSpace(g.Organization) == "" {
			c.add(gp, "organization: the name of the organization to grant the project to is required")
		}
		for _, r := range g.Roles {
			if _, ok := keys[r]; !ok {
				c.add(gp, "roles: the project declares no role %q", r)
			}
		}
	}
	c.members(p+".members", pr.Members, iam.ScopeProject)
}

// publicKey checks a declared key (PEM, and an expiry that is not past
// when set) and reports a key seen before in seen; it returns the parsed
// key, nil if the PEM is invalid.
func (c *checker) publicKey(p string, k PublicKey, seen map[string]string) *project.PublicKey {
	if !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(c.now) {
		c.add(p, "expires-at: %s is in the past", k.ExpiresAt.Format(time.RFC3339))
	}
	parsed, err := project.ParsePublicKey(k.PublicKey)
	if err != nil {
		msg := err.Error()
		if e, ok := err.(*iam.Error); ok {
			msg = e.Message
		}
		c.add(p, "public-key: %s", msg)
		return nil
	}
	if first, ok := seen[parsed.PEM]; ok {
		c.add(p, "public-key: the same key is declared twice (first at %s)", first)
	} else {
		seen[parsed.PEM] = p
	}
	return parsed
}

func (a *Application) domain() *iam.Application {
	d := &iam.Application{
		ID: "x", InstanceID: "x", OrgID: "x", ProjectID: "x", Name: a.Name, Type: iam.AppType(a.Type), ClientID: a.ClientID,
		RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs, GrantTypes: a.GrantTypes,
		ResponseTypes: a.ResponseTypes, AuthMethod: iam.AppAuthMethod(a.AuthMethod), AccessTokenFormat: iam.AccessTokenFormat(a.AccessTokenFormat),
		AccessTokenLifetime: a.AccessTokenLifetime, IDTokenLifetime: a.IDTokenLifetime, RefreshTokenLifetime: a.RefreshTokenLifetime,
		PKCERequired: a.PKCERequired, ConsentRequired: a.ConsentRequired,
	}
	d.Normalize()
	return d
}

func (c *checker) members(p string, ms []Member, scope iam.MemberScope) {
	users := map[string]string{}
	for i, m := range ms {
		mp := fmt.Sprintf("%s[%d]", p, i)
		if strings.TrimSpace(m.User) == "" {
			c.add(mp, "user: the login name is required")
		}
		c.dup(users, strings.ToLower(strings.TrimSpace(m.User)), mp, "member")
		if len(m.Roles) == 0 {
			c.add(mp, "roles: at least one role is required")
		}
		for _, r := range m.Roles {
			role := iam.MemberRole(strings.ToUpper(r))
			if role.Scope() != scope {
				c.add(mp, "roles: %q is not a role for a %s membership (one of %s)", r, scope, rolesOf(scope))
			}
		}
	}
}

func rolesOf(scope iam.MemberScope) string {
	var out []string
	for _, r := range iam.AllMemberRoles {
		if r.Scope() == scope {
			out = append(out, string(r))
		}
	}
	return strings.Join(out, ", ")
}
