package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

func wantCode(t *testing.T, what string, err error, code connect.Code) {
	t.Helper()
	if err == nil || connect.CodeOf(err) != code {
		t.Fatalf("%s: err = %v, want %v", what, err, code)
	}
}

// rawHeader sends a request with exactly the given Authorization header.
func rawHeader(value string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", value)
			return next(ctx, req)
		}
	}))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		b := h.newWorld(t, "B", "b.test", false)
		myInstance := func(host string, opt connect.ClientOption) (*adminv1.Instance, error) {
			res, err := adminv1connect.NewInstanceServiceClient(h.client, h.url(host), opt).
				GetMyInstance(ctx, connect.NewRequest(&adminv1.GetMyInstanceRequest{}))
			if err != nil {
				return nil, err
			}
			return res.Msg.Instance, nil
		}
		got, err := myInstance(a.host, bearer(a.owner()))
		if err != nil || got.Id != a.in.ID || got.PrimaryDomain != "a.test" || got.System {
			t.Fatalf("GetMyInstance on A = %+v, %v", got, err)
		}

		_, err = myInstance(a.host, bearer(""))
		wantCode(t, "no Authorization header", err, connect.CodeUnauthenticated)
		if !strings.Contains(err.Error(), "Authorization: Bearer") {
			t.Errorf("message %q does not say what to send", err)
		}
		for _, header := range []string{"Basic " + a.owner(), "Bearer", a.owner(), "Bearer " + a.owner() + " extra", "Bearer rpat_not-a-real-token"} {
			_, err = myInstance(a.host, rawHeader(header))
			wantCode(t, "Authorization "+header, err, connect.CodeUnauthenticated)
		}

		// A's owner token does not authenticate anyone on B's host, and
		// vice versa.
		_, err = myInstance(b.host, bearer(a.owner()))
		wantCode(t, "A's token on B", err, connect.CodeUnauthenticated)
		_, err = myInstance(a.host, bearer(b.owner()))
		wantCode(t, "B's token on A", err, connect.CodeUnauthenticated)

		// An unknown host is not found, before any authentication.
		_, err = myInstance("unknown.test", bearer(a.owner()))
		wantCode(t, "unknown host", err, connect.CodeNotFound)
		if !strings.Contains(err.Error(), "unknown.test") {
			t.Errorf("unknown host message %q does not name the host", err)
		}

		// Expired: a token valid for one hour, one hour and a minute later.
		owner := a.users[iam.RoleInstanceOwner]
		ref := user.Ref{InstanceID: a.in.ID, ID: owner.ID}
		_, short, err := h.users.AddPAT(ctx, iam.SystemActor, ref, &user.NewPAT{ExpiresAt: h.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := myInstance(a.host, bearer(short)); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		h.clock.Add(time.Hour + time.Minute)
		_, err = myInstance(a.host, bearer(short))
		wantCode(t, "expired token", err, connect.CodeUnauthenticated)

		// Revoked through the API by the owner, with the owner's other token.
		users := adminv1connect.NewUserServiceClient(h.client, h.url(a.host), bearer(a.owner()))
		added, err := users.AddPersonalAccessToken(ctx, connect.NewRequest(&adminv1.AddPersonalAccessTokenRequest{
			OrgId: a.x.ID, UserId: owner.ID, ExpiresAt: timestamppb.New(h.clock.Now().Add(time.Hour)),
		}))
		if err != nil {
			t.Fatal(err)
		}
		revocable := added.Msg.Token
		if _, err := myInstance(a.host, bearer(revocable)); err != nil {
			t.Fatalf("token from the API: %v", err)
		}
		if _, err := users.RemovePersonalAccessToken(ctx, connect.NewRequest(&adminv1.RemovePersonalAccessTokenRequest{
			OrgId: a.x.ID, UserId: owner.ID, TokenId: added.Msg.PersonalAccessToken.Id,
		})); err != nil {
			t.Fatal(err)
		}
		_, err = myInstance(a.host, bearer(revocable))
		wantCode(t, "revoked token", err, connect.CodeUnauthenticated)

		// A deactivated user's tokens stop working.
		viewer := a.users[iam.RoleInstanceViewer]
		if _, err := h.users.SetState(ctx, iam.SystemActor, user.Ref{InstanceID: a.in.ID, ID: viewer.ID}, viewer.Version, iam.UserInactive); err != nil {
			t.Fatal(err)
		}
		_, err = myInstance(a.host, bearer(a.tokens[iam.RoleInstanceViewer]))
		wantCode(t, "inactive user", err, connect.CodeUnauthenticated)

		// Roles take effect at the next request: removing the org owner's
		// membership denies it at once.
		orgs := adminv1connect.NewOrganizationServiceClient(h.client, h.url(a.host), bearer(a.tokens[iam.RoleOrgOwner]))
		if _, err := orgs.GetOrganization(ctx, connect.NewRequest(&adminv1.GetOrganizationRequest{OrgId: a.x.ID})); err != nil {
			t.Fatal(err)
		}
		if err := h.members.Remove(ctx, iam.SystemActor, a.in.ID, iam.MemberTarget{Scope: iam.ScopeOrg, OrgID: a.x.ID}, a.users[iam.RoleOrgOwner].ID); err != nil {
			t.Fatal(err)
		}
		_, err = orgs.GetOrganization(ctx, connect.NewRequest(&adminv1.GetOrganizationRequest{OrgId: a.x.ID}))
		wantCode(t, "after losing the role", err, connect.CodePermissionDenied)
		if strings.Contains(h.logs.String(), "internal error") {
			t.Errorf("internal errors were logged:\n%s", h.logs.String())
		}
	})
}

type jsonAnswer struct {
	status int
	body   map[string]any
}

// postJSON is what curl does: a Connect unary call as a plain JSON POST.
func (h *harness) postJSON(t *testing.T, host, token, procedure, body string) jsonAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url(host)+procedure, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := jsonAnswer{status: res.StatusCode}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s: status %d, body %q is not JSON", procedure, res.StatusCode, raw)
	}
	return out
}

func TestPlainJSON(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		const list = "/rampart.admin.v1.OrganizationService/ListOrganizations"

		ans := h.postJSON(t, a.host, a.owner(), list, `{}`)
		orgs, _ := ans.body["organizations"].([]any)
		if ans.status != 200 || len(orgs) != 2 {
			t.Fatalf("list as owner: %d %v", ans.status, ans.body)
		}
		names := map[string]bool{}
		for _, o := range orgs {
			names[o.(map[string]any)["name"].(string)] = true
		}
		if !names["X"] || !names["Y"] {
			t.Fatalf("organizations %v", orgs)
		}
		for _, tc := range []struct {
			name, host, token, proc, body string
			status                        int
			code, message                 string
		}{
			{"no token", a.host, "", list, `{}`, 401, "unauthenticated", "Authorization"},
			{"bad token", a.host, "rpat_bogus", list, `{}`, 401, "unauthenticated", ""},
			{"no role", a.host, a.noRole, list, `{}`, 403, "permission_denied", `"org.read"`},
			{"org owner lists all orgs", a.host, a.tokens[iam.RoleOrgOwner], list, `{}`, 403, "permission_denied", "on the instance"},
			{"field named", a.host, a.owner(), "/rampart.admin.v1.OrganizationService/CreateOrganization", `{"name": ""}`, 400, "invalid_argument", "name: "},
			{"not found", a.host, a.owner(), "/rampart.admin.v1.OrganizationService/GetOrganization", `{"orgId": "` + iam.NewID() + `"}`, 404, "not_found", ""},
			{"stale version", a.host, a.owner(), "/rampart.admin.v1.OrganizationService/UpdateOrganization", `{"orgId": "` + a.y.ID + `", "version": "7", "name": "Y2"}`, 409, "aborted", ""},
			{"last owner", a.host, a.owner(), "/rampart.admin.v1.MembershipService/RemoveMember", `{"target": {"scope": "MEMBER_SCOPE_INSTANCE"}, "userId": "` + a.users[iam.RoleInstanceOwner].ID + `"}`, 400, "failed_precondition", "INSTANCE_OWNER"},
		} {
			ans := h.postJSON(t, tc.host, tc.token, tc.proc, tc.body)
			msg, _ := ans.body["message"].(string)
			if ans.status != tc.status || ans.body["code"] != tc.code || !strings.Contains(msg, tc.message) {
				t.Errorf("%s: %d %v, want %d %s containing %q", tc.name, ans.status, ans.body, tc.status, tc.code, tc.message)
			}
		}
		// An unknown host: the tenant middleware's answer, never another
		// instance's data.
		ans = h.postJSON(t, "unknown.test", a.owner(), list, `{}`)
		if ans.status != 404 || ans.body["error"] != "instance_not_found" || ans.body["organizations"] != nil {
			t.Fatalf("unknown host: %d %v", ans.status, ans.body)
		}
	})
}
