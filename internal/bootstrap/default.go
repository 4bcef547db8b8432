package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/user"
)

// Default names of what the first start creates.
const (
	DefaultInstanceName = "Default"
	DefaultOrgName      = "Default"
	DefaultAdminLogin   = "admin"
)

// DefaultSetup is what EnsureDefault created.
type DefaultSetup struct {
	Instance *iam.Instance
	Org      *iam.Organization
	Admin    *iam.User
	// Password is the admin's generated one-time password; it is not stored
	// anywhere in clear and must be shown to the operator once.
	Password string
}

// loopbackDomains answer for the default instance when the external URL is
// on the local machine, so "instance not found" never greets a newcomer who
// opens 127.0.0.1 instead of localhost.
var loopbackDomains = []string{"localhost", "127.0.0.1", "[::1]"}

// DefaultDomains returns the domains of the default instance for an
// external URL: its host, plus the loopback names when it is one of them.
func DefaultDomains(externalURL string) (primary string, additional []string, err error) {
	u, err := url.Parse(externalURL)
	if err != nil || u.Hostname() == "" {
		return "", nil, fmt.Errorf("external URL %q has no host", externalURL)
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	primary = iam.NormalizeDomain(host)
	isLoopback := false
	for _, d := range loopbackDomains {
		isLoopback = isLoopback || d == primary
	}
	if isLoopback {
		for _, d := range loopbackDomains {
			if d != primary {
				additional = append(additional, d)
			}
		}
	}
	return primary, additional, nil
}

// EnsureDefault creates, on a database without any instance, the default
// system instance for the external URL, an organization and an instance
// owner with a generated one-time password that must be changed at first
// login. It returns nil when instances exist already. When several nodes
// start at once, exactly one creates the setup; the others return nil.
func (s Services) EnsureDefault(ctx context.Context, externalURL string) (*DefaultSetup, error) {
	existing, err := s.Instances.List(ctx, "", 1, "")
	if err != nil || len(existing) > 0 {
		return nil, err
	}
	primary, additional, err := DefaultDomains(externalURL)
	if err != nil {
		return nil, err
	}
	inst, err := s.Instances.Create(ctx, Actor, &iam.Instance{
		Name: DefaultInstanceName, PrimaryDomain: primary, AdditionalDomains: additional, System: true,
	})
	if iam.IsCode(err, iam.AlreadyExists) {
		return nil, nil // another node won the race
	}
	if err != nil {
		return nil, fmt.Errorf("create the default instance: %w", err)
	}
	o, err := s.Orgs.Create(ctx, Actor, &iam.Organization{InstanceID: inst.ID, Name: DefaultOrgName})
	if err != nil {
		return nil, fmt.Errorf("create the default organization: %w", err)
	}
	password := generatePassword()
	admin, err := s.Users.CreateHuman(ctx, Actor, &user.NewHuman{
		InstanceID: inst.ID, OrgID: o.ID, LoginName: DefaultAdminLogin, Password: password,
		Profile: iam.HumanProfile{Email: adminEmail(primary), EmailVerified: true, GivenName: "Rampart", FamilyName: "Administrator",
			PasswordChangeRequired: true},
	})
	if err != nil {
		return nil, fmt.Errorf("create the default administrator: %w", err)
	}
	if _, err := s.Members.Add(ctx, Actor, &iam.Membership{InstanceID: inst.ID, Scope: iam.ScopeInstance, UserID: admin.ID,
		Roles: []iam.MemberRole{iam.RoleInstanceOwner}}); err != nil {
		return nil, fmt.Errorf("make the administrator instance owner: %w", err)
	}
	return &DefaultSetup{Instance: inst, Org: o, Admin: admin, Password: password}, nil
}

// adminEmail returns a syntactically valid address at the instance domain.
func adminEmail(domain string) string {
	if net.ParseIP(strings.Trim(domain, "[]")) != nil || !strings.Contains(domain, ".") {
		return "admin@localhost"
	}
	return "admin@" + domain
}

// generatePassword returns 26 random base32 characters (130 bits), easy to
// type once.
func generatePassword() string { return rand.Text() }
