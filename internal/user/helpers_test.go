package user_test

import (
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fastPasswords keeps tests quick; the parameters do not change the logic.
var fastPasswords = &crypto.PasswordHasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one test's world: a store, a service, an instance with two
// organizations and a second instance.
type env struct {
	t       *testing.T
	s       store.Store
	svc     *user.Service
	secrets *crypto.SecretHasher
	clock   *clock
	in      *iam.Instance
	org     *iam.Organization
	org2    *iam.Organization
	other   *iam.Instance
	otherO  *iam.Organization
}

func newSecrets(t testing.TB) *crypto.SecretHasher {
	t.Helper()
	k, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.NewSecretHasher(crypto.NewKeyring(key))
}

func setup(t *testing.T, s store.Store) *env {
	t.Helper()
	e := &env{t: t, s: s, secrets: newSecrets(t), clock: &clock{t: time.Now().UTC().Truncate(time.Microsecond)}}
	e.svc = user.New(s, user.Options{Secrets: e.secrets, Passwords: fastPasswords, Now: e.clock.Now})
	e.in, e.other = e.instance(), e.instance()
	e.org, e.org2, e.otherO = e.newOrg(e.in.ID), e.newOrg(e.in.ID), e.newOrg(e.other.ID)
	return e
}

func (e *env) instance() *iam.Instance {
	e.t.Helper()
	in, err := e.s.InstanceCreate(e.t.Context(), &store.InstanceCreateParams{
		Instance: &iam.Instance{ID: iam.NewID(), Name: "T", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive},
		Now:      time.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

func (e *env) newOrg(instanceID string) *iam.Organization {
	e.t.Helper()
	o, err := e.s.OrgCreate(e.t.Context(), &store.OrgCreateParams{
		Org: &iam.Organization{ID: iam.NewID(), InstanceID: instanceID, Name: "Org " + iam.NewID(), State: iam.StateActive}, Now: time.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) human(login, password string) *iam.User {
	e.t.Helper()
	u, err := e.svc.CreateHuman(e.t.Context(), "admin", &user.NewHuman{
		InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: login, Password: password,
		Profile: iam.HumanProfile{Email: login + "@example.com", GivenName: "G", FamilyName: "F"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) machine(login string) *iam.User {
	e.t.Helper()
	u, err := e.svc.CreateMachine(e.t.Context(), "admin", &user.NewMachine{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: login})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) ref(u *iam.User) user.Ref {
	return user.Ref{InstanceID: u.InstanceID, OrgID: u.OrgID, ID: u.ID}
}

// stored reads the user's row straight from the store.
func (e *env) stored(id string) *iam.User {
	e.t.Helper()
	u, err := e.s.UserGetByID(e.t.Context(), &store.UserGetByIDParams{InstanceID: e.in.ID, ID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// events returns the instance's audit events of the given type.
func (e *env) events(typ string) []*iam.AuditEvent {
	e.t.Helper()
	ev, err := e.s.AuditEventList(e.t.Context(), &store.AuditEventListParams{InstanceID: e.in.ID, EventType: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// countEvents counts all audit events of both instances.
func (e *env) countEvents() int {
	e.t.Helper()
	n := 0
	for _, id := range []string{e.in.ID, e.other.ID} {
		ev, err := e.s.AuditEventList(e.t.Context(), &store.AuditEventListParams{InstanceID: id})
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(ev)
	}
	return n
}

// noEvent runs fn, which must fail with code, and checks that it appended
// no audit event.
func (e *env) noEvent(what string, code iam.Code, fn func() error) *iam.Error {
	e.t.Helper()
	before := e.countEvents()
	err := fn()
	if !iam.IsCode(err, code) {
		e.t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
	if after := e.countEvents(); after != before {
		e.t.Fatalf("%s: failed call appended %d audit events", what, after-before)
	}
	var ie *iam.Error
	errors.As(err, &ie)
	return ie
}

func payload(t *testing.T, ev *iam.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) { fn(t, setup(t, s)) })
}
