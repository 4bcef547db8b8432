package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api"
	"github.com/rampartiam/rampart/internal/api/apiutil"
	"github.com/rampartiam/rampart/internal/api/projectapi"
	"github.com/rampartiam/rampart/internal/api/userapi"
	"github.com/rampartiam/rampart/internal/crypto"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/store/postgres"
	"github.com/rampartiam/rampart/internal/store/sqlite"
	"github.com/rampartiam/rampart/internal/tenant"
	"github.com/rampartiam/rampart/internal/user"
)

// seededUsers is how many users the identity benchmarks run against.
const seededUsers = 100_000

// identityEnv is a seeded database behind a real HTTP admin API.
type identityEnv struct {
	users  adminv1connect.UserServiceClient
	orgID  string
	ids    []string // seeded user IDs, sorted
	server *httptest.Server
}

var (
	envMu sync.Mutex
	envs  = map[string]*identityEnv{}
)

// seed builds the environment for a backend once per benchmark run:
// 100k users inserted in bulk through the store (one precomputed argon2id
// hash, not 100k argon2 runs), an instance owner with a PAT, and the admin
// API on an httptest server.
func seed(b *testing.B, backend string) *identityEnv {
	envMu.Lock()
	defer envMu.Unlock()
	if e := envs[backend]; e != nil {
		return e
	}
	ctx := context.Background()
	var st store.Store
	var err error
	switch backend {
	case "sqlite":
		st, err = sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "bench.db"), AppVersion: "bench"})
	case "postgres":
		st, err = postgres.Open(ctx, postgres.Options{URL: pgtest.NewDatabase(b), AppVersion: "bench"})
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrator().Up(ctx, nil); err != nil {
		b.Fatal(err)
	}
	key, _ := crypto.ParseMasterKey(benchMasterKey)
	secrets := crypto.NewSecretHasher(crypto.NewKeyring(key))
	passwords := crypto.DefaultPasswordHasher()
	instances, orgs, members := instance.New(st, nil), org.New(st, nil), member.New(st, nil)
	users := user.New(st, user.Options{Secrets: secrets, Passwords: passwords})
	projects := project.New(st, project.Options{Secrets: secrets})

	inst, err := instances.Create(ctx, "bench", &iam.Instance{Name: "Bench", PrimaryDomain: "127.0.0.1", System: true})
	if err != nil {
		b.Fatal(err)
	}
	o, err := orgs.Create(ctx, "bench", &iam.Organization{InstanceID: inst.ID, Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := users.CreateMachine(ctx, "bench", &user.NewMachine{InstanceID: inst.ID, OrgID: o.ID, LoginName: "bench-admin"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := members.Add(ctx, "bench", &iam.Membership{InstanceID: inst.ID, Scope: iam.ScopeInstance, UserID: admin.ID, Roles: []iam.MemberRole{iam.RoleInstanceOwner}}); err != nil {
		b.Fatal(err)
	}
	_, token, err := users.AddPAT(ctx, "bench", user.Ref{InstanceID: inst.ID, OrgID: o.ID, ID: admin.ID}, &user.NewPAT{ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}

	hash, err := passwords.Hash("bench-password-1")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ids := make([]string, 0, seededUsers)
	const batch = 10_000
	for i := 0; i < seededUsers; i += batch {
		us := make([]*iam.User, 0, batch)
		for j := i; j < i+batch; j++ {
			id := iam.NewID()
			ids = append(ids, id)
			us = append(us, &iam.User{ID: id, InstanceID: inst.ID, OrgID: o.ID, Type: iam.UserHuman, State: iam.UserActive,
				LoginName: fmt.Sprintf("user-%06d", j), PasswordHash: hash,
				Human: &iam.HumanProfile{Email: fmt.Sprintf("u%06d@bench.example", j), GivenName: "Bench", FamilyName: fmt.Sprint(j)}})
		}
		if err := st.UserCreateMany(ctx, &store.UserCreateManyParams{Users: us, Now: time.Now().UTC().Truncate(time.Microsecond)}); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(ids)
	b.Logf("%s: seeded %d users in %s", backend, seededUsers, time.Since(start).Round(time.Millisecond))

	mux := http.NewServeMux()
	log := slog.New(slog.DiscardHandler)
	api.Mount(api.Options{
		Instances: instances, Members: members, Audit: st, Authenticate: users.AuthenticatePAT,
		Organizations: userapi.NewOrganizationServer(orgs), Users: userapi.NewUserServer(users),
		Projects: projectapi.NewProjectServer(projects), Applications: projectapi.NewApplicationServer(projects),
		UserGrants: projectapi.NewUserGrantServer(projects), Logger: log,
	}, func(pattern string, h http.Handler) { mux.Handle(pattern, tenant.Middleware(instances.GetByHost, h)) })
	srv := httptest.NewServer(mux)
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, r connect.AnyRequest) (connect.AnyResponse, error) {
			r.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, r)
		}
	})
	e := &identityEnv{
		users:  adminv1connect.NewUserServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(auth)),
		orgID:  o.ID,
		ids:    ids,
		server: srv,
	}
	b.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	envs[backend] = e
	return e
}

// BenchmarkUsers measures the admin API over real HTTP against 100k users:
// creating a user (one argon2id hash per call), the first page of the user
// list, a page deep behind a cursor, and login-name and e-mail prefix
// searches. Each reports the median (p50-ms) besides the mean (ns/op).
// Target: list and search pages under 50 ms at 100k users.
func BenchmarkUsers(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			e := seed(b, backend)
			ctx := context.Background()
			b.Run("create", func(b *testing.B) {
				n := 0
				timed(b, func() error {
					n++
					_, err := e.users.CreateHumanUser(ctx, connect.NewRequest(&adminv1.CreateHumanUserRequest{
						OrgId: e.orgID, LoginName: fmt.Sprintf("new-%d-%d", time.Now().UnixNano(), n),
						Email: fmt.Sprintf("new%d@bench.example", n), GivenName: "New", FamilyName: "User", Password: "bench-password-1",
					}))
					return err
				})
			})
			b.Run("list-first-page", func(b *testing.B) {
				timed(b, func() error {
					res, err := e.users.ListUsers(ctx, connect.NewRequest(&adminv1.ListUsersRequest{OrgId: e.orgID, PageSize: 100}))
					if err == nil && len(res.Msg.Users) != 100 {
						err = fmt.Errorf("page has %d users", len(res.Msg.Users))
					}
					return err
				})
			})
			b.Run("list-deep-page", func(b *testing.B) {
				token := apiutil.EncodePageToken(apiutil.Cursor{ID: e.ids[90_000]})
				timed(b, func() error {
					res, err := e.users.ListUsers(ctx, connect.NewRequest(&adminv1.ListUsersRequest{OrgId: e.orgID, PageSize: 100, PageToken: token}))
					if err == nil && len(res.Msg.Users) != 100 {
						err = fmt.Errorf("page has %d users", len(res.Msg.Users))
					}
					return err
				})
			})
			b.Run("search-login-name-prefix", func(b *testing.B) {
				i := 0
				timed(b, func() error {
					i++
					prefix := fmt.Sprintf("user-%04d", (i*37)%1000) // 100 matches each
					res, err := e.users.ListUsers(ctx, connect.NewRequest(&adminv1.ListUsersRequest{OrgId: e.orgID, PageSize: 100, LoginNamePrefix: prefix}))
					if err == nil && len(res.Msg.Users) != 100 {
						err = fmt.Errorf("prefix %s: %d users", prefix, len(res.Msg.Users))
					}
					return err
				})
			})
			b.Run("search-email-prefix", func(b *testing.B) {
				i := 0
				timed(b, func() error {
					i++
					prefix := fmt.Sprintf("u%04d", (i*53)%1000)
					res, err := e.users.ListUsers(ctx, connect.NewRequest(&adminv1.ListUsersRequest{OrgId: e.orgID, PageSize: 100, EmailPrefix: prefix}))
					if err == nil && len(res.Msg.Users) != 100 {
						err = fmt.Errorf("prefix %s: %d users", prefix, len(res.Msg.Users))
					}
					return err
				})
			})
		})
	}
}

// timed runs fn b.N times and reports the median latency.
func timed(b *testing.B, fn func() error) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}
