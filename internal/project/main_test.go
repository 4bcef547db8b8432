package project_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is a service on a fresh store with two instances: in (with the
// organizations org and partner) and other (with otherOrg).
type fixture struct {
	t        *testing.T
	s        store.Store
	svc      *project.Service
	secrets  *crypto.SecretHasher
	in       *iam.Instance
	other    *iam.Instance
	org      *iam.Organization
	partner  *iam.Organization
	otherOrg *iam.Organization
}

func newSecretHasher(t *testing.T) *crypto.SecretHasher {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.NewSecretHasher(crypto.NewKeyring(key))
}

func setup(t *testing.T, s store.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, s: s, secrets: newSecretHasher(t)}
	f.svc = project.New(s, project.Options{Secrets: f.secrets})
	f.in = f.instance()
	f.other = f.instance()
	f.org = f.newOrg(f.in.ID)
	f.partner = f.newOrg(f.in.ID)
	f.otherOrg = f.newOrg(f.other.ID)
	return f
}

func (f *fixture) instance() *iam.Instance {
	f.t.Helper()
	in := &iam.Instance{ID: iam.NewID(), Name: "Tenant", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive}
	out, err := f.s.InstanceCreate(f.t.Context(), &store.InstanceCreateParams{Instance: in, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) newOrg(instanceID string) *iam.Organization {
	f.t.Helper()
	o := &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}
	out, err := f.s.OrgCreate(f.t.Context(), &store.OrgCreateParams{Org: o, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) newUser(instanceID, orgID string) *iam.User {
	f.t.Helper()
	id := iam.NewID()
	u := &iam.User{ID: id, InstanceID: instanceID, OrgID: orgID, Type: iam.UserHuman, LoginName: "user-" + id, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: "user-" + id + "@example.com", GivenName: "G", FamilyName: "F"}}
	out, err := f.s.UserCreate(f.t.Context(), &store.UserCreateParams{User: u, Now: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// project creates a project of org in instance in with roles.
func (f *fixture) project(orgID string, roles ...string) *iam.Project {
	f.t.Helper()
	p, err := f.svc.CreateProject(f.t.Context(), "setup", &iam.Project{InstanceID: f.in.ID, OrgID: orgID, Name: "P " + iam.NewID()})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, k := range roles {
		if _, err := f.svc.AddProjectRole(f.t.Context(), "setup", orgID, &iam.ProjectRole{InstanceID: f.in.ID, ProjectID: p.ID, Key: k}); err != nil {
			f.t.Fatal(err)
		}
	}
	return p
}

// events returns the instance's audit events of a type, oldest first.
func (f *fixture) events(instanceID, typ string) []*iam.AuditEvent {
	f.t.Helper()
	list, err := f.s.AuditEventList(f.t.Context(), &store.AuditEventListParams{InstanceID: instanceID, EventType: typ})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// allEvents counts every audit event of the instance.
func (f *fixture) allEvents() int {
	f.t.Helper()
	list, err := f.s.AuditEventList(f.t.Context(), &store.AuditEventListParams{InstanceID: f.in.ID})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(list)
}

// wantCode fails unless err carries code and, if field is set, names it.
func wantCode(t *testing.T, err error, code iam.Code, field string) {
	t.Helper()
	if !iam.IsCode(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if field != "" && !strings.Contains(err.Error(), field+": ") {
		t.Fatalf("err = %v, want it to name %s", err, field)
	}
}

func payload(t *testing.T, ev *iam.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
