package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rampartiam/rampart/internal/api"
	"github.com/rampartiam/rampart/internal/api/policyapi"
	"github.com/rampartiam/rampart/internal/api/projectapi"
	"github.com/rampartiam/rampart/internal/api/userapi"
	"github.com/rampartiam/rampart/internal/cluster"
	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/tenant"
	"github.com/rampartiam/rampart/internal/user"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testClock is a clock tests can move forward.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a real HTTP server with the tenant middleware and the admin
// API on a fresh store, and an HTTP client that reaches it under any host
// name.
type harness struct {
	s        store.Store
	clock    *testClock
	insts    *instance.Service
	members  *member.Service
	orgs     *org.Service
	users    *user.Service
	projects *project.Service
	factors  *mfa.Service
	sessions *session.Service
	policies *policy.Service
	srv      *httptest.Server
	client   *http.Client
	port     string
	logs     *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newHarness(t *testing.T, s store.Store) *harness {
	t.Helper()
	raw, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ParseMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	secrets := crypto.NewSecretHasher(crypto.NewKeyring(key))
	h := &harness{s: s, clock: &testClock{now: time.Now().UTC()}, logs: &syncBuffer{}}
	h.insts = instance.New(s, h.clock.Now)
	h.members = member.New(s, h.clock.Now)
	h.orgs = org.New(s, h.clock.Now)
	h.users = user.New(s, user.Options{Secrets: secrets, Now: h.clock.Now,
		Passwords: &crypto.PasswordHasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
	opts := api.Options{
		Instances:     h.insts,
		Members:       h.members,
		Audit:         s,
		Authenticate:  h.users.AuthenticatePAT,
		Organizations: userapi.NewOrganizationServer(h.orgs),
		Users:         userapi.NewUserServer(h.users),
		Logger:        slog.New(slog.NewTextHandler(h.logs, nil)),
		RequestID:     func(context.Context) string { return "test-request" },
	}
	h.projects = project.New(s, project.Options{Secrets: secrets, Now: h.clock.Now})
	opts.Projects = projectapi.NewProjectServer(h.projects)
	opts.Applications = projectapi.NewApplicationServer(h.projects)
	opts.UserGrants = projectapi.NewUserGrantServer(h.projects)
	opts.Cluster = cluster.NewRegistry(cluster.RegistryOptions{Store: s, NodeID: "test-node"})
	h.policies = policy.New(s, policy.Options{Now: h.clock.Now})
	opts.Policies = policyapi.NewPolicyServer(h.policies)
	opts.Settings = newSettingsServer(t, s, key, h.clock.Now)
	h.sessions = session.New(s, session.Options{Secrets: secrets, Now: h.clock.Now})
	h.factors = mfa.New(s, mfa.Options{Keyring: crypto.NewKeyring(key), Secrets: secrets, Now: h.clock.Now})
	opts.UserFactors = userapi.NewUserFactorServer(h.factors, h.users, h.sessions)
	mux := http.NewServeMux()
	api.Mount(opts, func(pattern string, handler http.Handler) {
		mux.Handle(pattern, tenant.Middleware(h.insts.GetByHost, handler))
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	addr := h.srv.Listener.Addr().String()
	_, h.port, _ = net.SplitHostPort(addr)
	h.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// url is the base URL of the server under a host name.
func (h *harness) url(host string) string { return "http://" + host + ":" + h.port }

// bearer is a client option sending a personal access token.
func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	}))
}

// invoke calls any admin API method with the generated schema and a
// dynamic message: the real Connect Go client over HTTP.
func (h *harness) invoke(ctx context.Context, host, token string, md protoreflect.MethodDescriptor, req proto.Message) (*dynamicpb.Message, error) {
	proc := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	client := connect.NewClient[dynamicpb.Message, dynamicpb.Message](h.client, h.url(host)+proc,
		connect.WithSchema(md), bearer(token),
		connect.WithResponseInitializer(func(spec connect.Spec, msg any) error {
			dyn, ok := msg.(*dynamicpb.Message)
			if !ok {
				return errors.New("unexpected response type")
			}
			*dyn = *dynamicpb.NewMessage(spec.Schema.(protoreflect.MethodDescriptor).Output())
			return nil
		}))
	in, ok := req.(*dynamicpb.Message)
	if !ok {
		b, err := proto.Marshal(req)
		if err != nil {
			return nil, err
		}
		in = dynamicpb.NewMessage(md.Input())
		if err := proto.Unmarshal(b, in); err != nil {
			return nil, err
		}
	}
	res, err := client.CallUnary(ctx, connect.NewRequest(in))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// world is one instance with two organizations X and Y, projects P and Q
// of X and R of Y, and one machine user (of X) per administrative role
// with a personal access token, plus one without any membership.
type world struct {
	in         *iam.Instance
	host       string
	x, y       *iam.Organization
	p, q, r    *iam.Project
	tokens     map[iam.MemberRole]string
	noRole     string
	users      map[iam.MemberRole]*iam.User
	memberOf   map[iam.MemberRole]*iam.Membership
	noRoleUser *iam.User
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (h *harness) newWorld(t *testing.T, name, host string, system bool) *world {
	t.Helper()
	ctx := t.Context()
	w := &world{host: host, tokens: map[iam.MemberRole]string{}, users: map[iam.MemberRole]*iam.User{}, memberOf: map[iam.MemberRole]*iam.Membership{}}
	w.in = must[*iam.Instance](t)(h.insts.Create(ctx, iam.SystemActor, &iam.Instance{Name: name, PrimaryDomain: host, System: system}))
	newOrg := func(n string) *iam.Organization {
		return must[*iam.Organization](t)(h.orgs.Create(ctx, iam.SystemActor, &iam.Organization{InstanceID: w.in.ID, Name: n}))
	}
	w.x, w.y = newOrg("X"), newOrg("Y")
	w.p = h.newProject(t, w.in.ID, w.x.ID, "P")
	w.q = h.newProject(t, w.in.ID, w.x.ID, "Q")
	w.r = h.newProject(t, w.in.ID, w.y.ID, "R")
	for _, role := range append([]iam.MemberRole{""}, iam.AllMemberRoles...) {
		login := "admin-" + strings.ToLower(strings.ReplaceAll(string(role), "_", "-"))
		if role == "" {
			login = "nobody"
		}
		u, token := h.newUserWithPAT(t, w.in.ID, w.x.ID, login)
		if role == "" {
			w.noRole, w.noRoleUser = token, u
			continue
		}
		m := &iam.Membership{InstanceID: w.in.ID, Scope: role.Scope(), UserID: u.ID, Roles: []iam.MemberRole{role}}
		switch role.Scope() {
		case iam.ScopeOrg:
			m.OrgID = w.x.ID
		case iam.ScopeProject:
			m.OrgID, m.ProjectID = w.x.ID, w.p.ID
		}
		w.memberOf[role] = must[*iam.Membership](t)(h.members.Add(ctx, iam.SystemActor, m))
		w.tokens[role], w.users[role] = token, u
	}
	return w
}

// owner returns the PAT of the world's INSTANCE_OWNER.
func (w *world) owner() string { return w.tokens[iam.RoleInstanceOwner] }

// principal is what the API should derive for a role's user.
func (w *world) principal(role iam.MemberRole) *iam.Principal {
	p := &iam.Principal{InstanceID: w.in.ID, SystemInstance: w.in.System}
	if m := w.memberOf[role]; m != nil {
		p.UserID, p.Memberships = m.UserID, []*iam.Membership{m}
	}
	return p
}

func (h *harness) newUserWithPAT(t *testing.T, instanceID, orgID, login string) (*iam.User, string) {
	t.Helper()
	ctx := t.Context()
	u := must[*iam.User](t)(h.users.CreateMachine(ctx, iam.SystemActor, &user.NewMachine{InstanceID: instanceID, OrgID: orgID, LoginName: login}))
	_, token, err := h.users.AddPAT(ctx, iam.SystemActor, user.Ref{InstanceID: instanceID, ID: u.ID}, &user.NewPAT{ExpiresAt: h.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return u, token
}

func (h *harness) newProject(t *testing.T, instanceID, orgID, name string) *iam.Project {
	t.Helper()
	return must[*iam.Project](t)(h.projects.CreateProject(t.Context(), iam.SystemActor, &iam.Project{InstanceID: instanceID, OrgID: orgID, Name: name}))
}
