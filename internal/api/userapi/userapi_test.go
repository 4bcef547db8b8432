package userapi_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/userapi"
	"github.com/rampartiam/rampart/internal/crypto"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/pgtest"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type bundle struct {
	orgs   adminv1connect.OrganizationServiceHandler
	users  adminv1connect.UserServiceHandler
	ctx    context.Context // in instance A, as principal "admin"
	other  context.Context // in instance B
	actor  string
	events func(instanceID, typ string) int
	inst   *iam.Instance
}

func setup(t *testing.T, s store.Store) *bundle {
	t.Helper()
	k, _ := crypto.GenerateMasterKey()
	key, _ := crypto.ParseMasterKey(k)
	us := user.New(s, user.Options{Secrets: crypto.NewSecretHasher(crypto.NewKeyring(key)), Passwords: &crypto.PasswordHasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}})
	mk := func() *iam.Instance {
		in, err := s.InstanceCreate(t.Context(), &store.InstanceCreateParams{
			Instance: &iam.Instance{ID: iam.NewID(), Name: "T", PrimaryDomain: iam.NewID()[24:] + ".example", State: iam.InstanceActive}, Now: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b := mk(), mk()
	principal := &iam.Principal{InstanceID: a.ID, UserID: "admin-user"}
	return &bundle{
		orgs:  userapi.NewOrganizationServer(org.New(s, nil)),
		users: userapi.NewUserServer(us),
		ctx:   reqctx.WithPrincipal(reqctx.WithInstance(t.Context(), a), principal),
		other: reqctx.WithInstance(t.Context(), b),
		actor: principal.UserID,
		inst:  a,
		events: func(instanceID, typ string) int {
			ev, err := s.AuditEventList(t.Context(), &store.AuditEventListParams{InstanceID: instanceID, EventType: typ})
			if err != nil {
				t.Fatal(err)
			}
			return len(ev)
		},
	}
}

func wantCode(t *testing.T, what string, err error, code iam.Code, field string) {
	t.Helper()
	if !iam.IsCode(err, code) {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
	if field != "" {
		var ie *iam.Error
		if !errors.As(err, &ie) || (ie.Field != field && !strings.Contains(ie.Message, field+":")) {
			t.Fatalf("%s: err = %v, want field %s", what, err, field)
		}
	}
}

func must[T any](t *testing.T) func(*connect.Response[T], error) *T {
	return func(r *connect.Response[T], err error) *T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r.Msg
	}
}

func req[T any](m *T) *connect.Request[T] { return connect.NewRequest(m) }

func TestOrganizationService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		ctx := b.ctx
		created := must[adminv1.CreateOrganizationResponse](t)(b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: "Acme"}))).Organization
		if created.Id == "" || created.Name != "Acme" || created.State != adminv1.State_STATE_ACTIVE || created.Version != 1 || created.CreatedAt == nil {
			t.Fatalf("created %v", created)
		}
		if b.events(b.inst.ID, iam.EventOrgCreated) != 1 {
			t.Fatal("no org.created event")
		}
		_, err := b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: " "}))
		wantCode(t, "empty name", err, iam.Invalid, "name")
		_, err = b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: "ACME"}))
		wantCode(t, "duplicate", err, iam.AlreadyExists, "name")

		got := must[adminv1.GetOrganizationResponse](t)(b.orgs.GetOrganization(ctx, req(&adminv1.GetOrganizationRequest{OrgId: created.Id}))).Organization
		if got.Id != created.Id {
			t.Fatalf("get %v", got)
		}
		_, err = b.orgs.GetOrganization(ctx, req(&adminv1.GetOrganizationRequest{}))
		wantCode(t, "get without id", err, iam.Invalid, "org_id")
		_, err = b.orgs.GetOrganization(b.other, req(&adminv1.GetOrganizationRequest{OrgId: created.Id}))
		wantCode(t, "get from other instance", err, iam.NotFound, "")

		for _, n := range []string{"Alpha", "Alpine", "Beta"} {
			must[adminv1.CreateOrganizationResponse](t)(b.orgs.CreateOrganization(ctx, req(&adminv1.CreateOrganizationRequest{Name: n})))
		}
		var names []string
		token := ""
		for range 10 {
			page := must[adminv1.ListOrganizationsResponse](t)(b.orgs.ListOrganizations(ctx, req(&adminv1.ListOrganizationsRequest{NamePrefix: "al", PageSize: 1, PageToken: token})))
			for _, o := range page.Organizations {
				names = append(names, o.Name)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if strings.Join(names, ",") != "Alpha,Alpine" {
			t.Fatalf("prefix pages %v", names)
		}
		all := must[adminv1.ListOrganizationsResponse](t)(b.orgs.ListOrganizations(ctx, req(&adminv1.ListOrganizationsRequest{})))
		if len(all.Organizations) != 4 || all.NextPageToken != "" {
			t.Fatalf("list all: %d, %q", len(all.Organizations), all.NextPageToken)
		}
		_, err = b.orgs.ListOrganizations(ctx, req(&adminv1.ListOrganizationsRequest{PageSize: -1}))
		wantCode(t, "bad page size", err, iam.Invalid, "page_size")
		_, err = b.orgs.ListOrganizations(ctx, req(&adminv1.ListOrganizationsRequest{PageToken: "garbage"}))
		wantCode(t, "bad page token", err, iam.Invalid, "page_token")
		if l := must[adminv1.ListOrganizationsResponse](t)(b.orgs.ListOrganizations(b.other, req(&adminv1.ListOrganizationsRequest{}))); len(l.Organizations) != 0 {
			t.Fatal("other instance lists our organizations")
		}

		up := must[adminv1.UpdateOrganizationResponse](t)(b.orgs.UpdateOrganization(ctx, req(&adminv1.UpdateOrganizationRequest{OrgId: created.Id, Version: 1, Name: "Acme Inc", State: adminv1.State_STATE_INACTIVE}))).Organization
		if up.Name != "Acme Inc" || up.State != adminv1.State_STATE_INACTIVE || up.Version != 2 {
			t.Fatalf("updated %v", up)
		}
		_, err = b.orgs.UpdateOrganization(ctx, req(&adminv1.UpdateOrganizationRequest{OrgId: created.Id, Version: 1, Name: "X"}))
		wantCode(t, "stale update", err, iam.Conflict, "")
		_, err = b.orgs.UpdateOrganization(ctx, req(&adminv1.UpdateOrganizationRequest{OrgId: created.Id, Version: 2, Name: "X", State: adminv1.State(9)}))
		wantCode(t, "bad state", err, iam.Invalid, "state")
		_, err = b.orgs.UpdateOrganization(b.other, req(&adminv1.UpdateOrganizationRequest{OrgId: created.Id, Version: 2, Name: "X"}))
		wantCode(t, "update from other instance", err, iam.NotFound, "")

		_, err = b.orgs.DeleteOrganization(b.other, req(&adminv1.DeleteOrganizationRequest{OrgId: created.Id, Version: 2}))
		wantCode(t, "delete from other instance", err, iam.NotFound, "")
		_, err = b.orgs.DeleteOrganization(ctx, req(&adminv1.DeleteOrganizationRequest{Version: 2}))
		wantCode(t, "delete without id", err, iam.Invalid, "org_id")
		must[adminv1.DeleteOrganizationResponse](t)(b.orgs.DeleteOrganization(ctx, req(&adminv1.DeleteOrganizationRequest{OrgId: created.Id, Version: 2})))
		_, err = b.orgs.GetOrganization(ctx, req(&adminv1.GetOrganizationRequest{OrgId: created.Id}))
		wantCode(t, "get deleted", err, iam.NotFound, "")

		// Without an instance in the context: an internal error, never a
		// guess.
		_, err = b.orgs.ListOrganizations(t.Context(), req(&adminv1.ListOrganizationsRequest{}))
		wantCode(t, "no instance", err, iam.Internal, "")
	})
}
