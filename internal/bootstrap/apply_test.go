package bootstrap

import (
	"crypto/elliptic"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const testKey = "dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMhISE="

func services(t *testing.T, s store.Store) Services {
	t.Helper()
	k, err := crypto.ParseMasterKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := crypto.NewSecretHasher(crypto.NewKeyring(k))
	fast := &crypto.PasswordHasher{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}
	return Services{
		Store: s, Secrets: secrets,
		Instances: instance.New(s, nil), Orgs: org.New(s, nil),
		Users:    user.New(s, user.Options{Secrets: secrets, Passwords: fast}),
		Projects: project.New(s, project.Options{Secrets: secrets}),
		Members:  member.New(s, nil),
		Log:      slog.New(slog.DiscardHandler),
	}
}

func TestApplyExampleIdempotently(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		f, err := Load("../../examples/init.yaml")
		if err != nil {
			t.Fatal(err)
		}
		svc := services(t, s)
		first, err := svc.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if first.Created == 0 || first.Existing != 0 {
			t.Fatalf("first apply = %+v", first)
		}
		events := func() int {
			inst, err := svc.Instances.GetByHost(ctx, "localhost")
			if err != nil {
				t.Fatal(err)
			}
			list, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: inst.ID})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		before := events()
		second, err := svc.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if second.Created != 0 || second.Existing != first.Created {
			t.Fatalf("second apply = %+v, want nothing created and %d existing", second, first.Created)
		}
		if after := events(); after != before {
			t.Fatalf("second apply wrote %d audit events", after-before)
		}

		inst, err := svc.Instances.GetByHost(ctx, "127.0.0.1:8080")
		if err != nil || !inst.System {
			t.Fatalf("instance %+v, %v", inst, err)
		}
		// The declared PAT authenticates the machine user; the declared
		// password works for alice.
		bot, err := svc.Users.AuthenticatePAT(ctx, inst.ID, "rpat_example-only-token-0123456789abcdefgh")
		if err != nil || bot.LoginName != "ci-bot" {
			t.Fatalf("PAT: %+v, %v", bot, err)
		}
		alice, err := svc.Users.CheckPassword(ctx, inst.ID, "alice", "change-me-now-1")
		if err != nil || !alice.Human.PasswordChangeRequired {
			t.Fatalf("alice: %+v, %v", alice, err)
		}
		if _, err := svc.Users.VerifyClientSecret(ctx, inst.ID, "ci-bot", "rcs_example-only-secret-0123456789abcdef"); err != nil {
			t.Fatalf("machine secret: %v", err)
		}
		app, err := svc.Projects.GetApplicationByClientID(ctx, inst.ID, "shop-web")
		if err != nil || len(app.SecretHash) == 0 {
			t.Fatalf("app: %+v, %v", app, err)
		}
		// The declared keys exist once each.
		worker, err := svc.Projects.GetApplicationByClientID(ctx, inst.ID, "shop-worker")
		if err != nil || worker.AuthMethod != iam.AuthPrivateKeyJWT {
			t.Fatalf("worker: %+v, %v", worker, err)
		}
		if keys, err := svc.Projects.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: inst.ID, OrgID: worker.OrgID,
			ProjectID: worker.ProjectID, AppID: worker.ID}); err != nil || len(keys) != 1 || !keys[0].ExpiresAt.IsZero() {
			t.Fatalf("worker keys: %+v, %v", keys, err)
		}
		ciBot, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: inst.ID, LoginName: "ci-bot"})
		if err != nil {
			t.Fatal(err)
		}
		if keys, err := svc.Users.ListMachineKeys(ctx, user.Ref{InstanceID: inst.ID, OrgID: ciBot.OrgID, ID: ciBot.ID}, "", 100); err != nil || len(keys) != 1 {
			t.Fatalf("ci-bot keys: %+v, %v", keys, err)
		}
		ms, err := svc.Members.ListByUser(ctx, inst.ID, alice.ID)
		if err != nil || len(ms) != 1 || ms[0].Roles[0] != iam.RoleInstanceOwner {
			t.Fatalf("alice memberships %+v, %v", ms, err)
		}
		// bob's grant goes through the project grant to Partner.
		bob, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: inst.ID, LoginName: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		grants, err := svc.Projects.ListUserGrantsForUser(ctx, inst.ID, bob.ID, "", true)
		if err != nil || len(grants) != 1 || grants[0].ProjectGrantID == "" {
			t.Fatalf("bob grants %+v, %v", grants, err)
		}
	})
}

func TestApplyReportsConflictsWithExistingData(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		svc := services(t, s)
		doc := func(orgName string) *File {
			f, err := Parse([]byte(`
instances:
  - name: A
    domain: a.example
    organizations:
      - name: ` + orgName + `
        users:
          - login-name: shared
            email: shared@a.example
`))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		if _, err := svc.Apply(t.Context(), doc("One")); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Apply(t.Context(), doc("Two"))
		if err == nil || !containsAll(err.Error(), "instances[0].organizations[0].users[0]", "another organization") {
			t.Fatalf("Apply = %v", err)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestEnsureDefaultOnce(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := services(t, s)
		var wg sync.WaitGroup
		results := make([]*DefaultSetup, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = svc.EnsureDefault(ctx, "http://localhost:8080") })
		}
		wg.Wait()
		var setup *DefaultSetup
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("EnsureDefault %d: %v", i, errs[i])
			}
			if results[i] != nil {
				if setup != nil {
					t.Fatal("two callers created the default setup")
				}
				setup = results[i]
			}
		}
		if setup == nil {
			t.Fatal("nobody created the default setup")
		}
		if !setup.Instance.System || len(setup.Password) < 20 {
			t.Fatalf("setup %+v", setup)
		}
		for _, host := range []string{"localhost:8080", "127.0.0.1:9999", "[::1]:1"} {
			if in, err := svc.Instances.GetByHost(ctx, host); err != nil || in.ID != setup.Instance.ID {
				t.Fatalf("host %s: %v", host, err)
			}
		}
		u, err := svc.Users.CheckPassword(ctx, setup.Instance.ID, "admin", setup.Password)
		if err != nil || !u.Human.PasswordChangeRequired {
			t.Fatalf("admin login: %+v %v", u, err)
		}
		again, err := svc.EnsureDefault(ctx, "http://localhost:8080")
		if err != nil || again != nil {
			t.Fatalf("second EnsureDefault = %+v, %v", again, err)
		}
	})
}

// TestApplyMatchesKeysByContent: keys are found by the key they hold, not
// by their spelling; keys added through the API count as existing; only
// keys missing from the database are added.
func TestApplyMatchesKeysByContent(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := services(t, s)
		k1, k2, k3, m1 := keyPEM(t, nil), keyPEM(t, elliptic.P256()), keyPEM(t, nil), keyPEM(t, elliptic.P256())
		doc := func(appKeys, machineKey string) *File {
			t.Helper()
			f, err := Parse([]byte(`
instances:
  - name: A
    domain: a.example
    organizations:
      - name: Org
        users:
          - login-name: robot
            type: machine
            name: Robot
            machine-keys:
              - public-key: ` + machineKey + `
                expires-at: ` + time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339) + `
        projects:
          - name: P
            applications:
              - name: worker
                type: api
                client-id: worker
                auth-method: private_key_jwt
                keys:
` + appKeys))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		entry := func(pem string) string { return "                  - public-key: " + yamlBlock(pem, 22) + "\n" }
		crlf := func(pem string) string { return "\"" + strings.ReplaceAll(pem, "\n", `\r\n`) + "\"" }

		if _, err := svc.Apply(ctx, doc(entry(k1), yamlBlock(m1, 18))); err != nil {
			t.Fatal(err)
		}
		inst, err := svc.Instances.GetByHost(ctx, "a.example")
		if err != nil {
			t.Fatal(err)
		}
		app, err := svc.Projects.GetApplicationByClientID(ctx, inst.ID, "worker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Projects.AddApplicationKey(ctx, "admin", inst.ID, app.OrgID, app.ProjectID, app.ID, k2, time.Time{}); err != nil {
			t.Fatal(err)
		}

		// k1 and m1 spelled differently, k2 known from the API, k3 new.
		res, err := svc.Apply(ctx, doc("                  - public-key: "+crlf(k1)+"\n"+entry(k2)+entry(k3), crlf(m1)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 1 {
			t.Fatalf("second apply = %+v, want only k3 created", res)
		}
		keys, err := svc.Projects.ListApplicationKeys(ctx, project.ListApplicationKeysParams{InstanceID: inst.ID, OrgID: app.OrgID, ProjectID: app.ProjectID, AppID: app.ID})
		if err != nil || len(keys) != 3 {
			t.Fatalf("app keys = %d, %v", len(keys), err)
		}
		robot, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: inst.ID, LoginName: "robot"})
		if err != nil {
			t.Fatal(err)
		}
		mks, err := svc.Users.ListMachineKeys(ctx, user.Ref{InstanceID: inst.ID, OrgID: robot.OrgID, ID: robot.ID}, "", 100)
		if err != nil || len(mks) != 1 {
			t.Fatalf("machine keys = %+v, %v", mks, err)
		}
		events, err := s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: inst.ID, EventType: project.EventAppKeyAdded})
		if err != nil || len(events) != 3 || events[0].Actor != Actor {
			t.Fatalf("key events = %+v, %v", events, err)
		}
	})
}
