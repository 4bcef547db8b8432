package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rampartiam/rampart/internal/api/settingsapi"
	"github.com/rampartiam/rampart/internal/crypto"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/jobs"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

// newSettingsServer is the harness's InstanceSettingsService: a mail
// service whose job queue is not started (tests only queue messages).
func newSettingsServer(t *testing.T, s store.Store, key *crypto.Key, now func() time.Time) adminv1connect.InstanceSettingsServiceHandler {
	t.Helper()
	m, err := mail.New(s, mail.Options{Keyring: crypto.NewKeyring(key), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	j, err := jobs.New(jobs.Options{Store: s, Register: m.Register})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Stop(context.Background()) })
	m.SetEnqueuer(j)
	return settingsapi.NewInstanceSettingsServer(m)
}

// TestInstanceSettingsService drives the SMTP settings over HTTP: the
// instance owner writes, the viewer reads, nobody else does; the password
// never comes back; instances are isolated.
func TestInstanceSettingsService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		b := h.newWorld(t, "B", "b.test", false)
		client := func(w *world, role iam.MemberRole) adminv1connect.InstanceSettingsServiceClient {
			return adminv1connect.NewInstanceSettingsServiceClient(h.client, h.url(w.host), bearer(w.tokens[role]))
		}
		owner, viewer := client(a, iam.RoleInstanceOwner), client(a, iam.RoleInstanceViewer)

		set, err := owner.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{
			Host: "smtp.a.test", Username: "mailer", Password: "top-secret-pw", FromAddress: "noreply@a.test",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if st := set.Msg.Settings; st.Host != "smtp.a.test" || !st.PasswordSet || st.Version != 1 {
			t.Fatalf("set %+v", st)
		}
		got, err := viewer.GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
		if err != nil || got.Msg.Settings.GetHost() != "smtp.a.test" || got.Msg.DefaultAvailable {
			t.Fatalf("viewer get = %v, %v", got, err)
		}
		// The JSON answer holds no password.
		ans := h.postJSON(t, a.host, a.tokens[iam.RoleInstanceViewer], "/rampart.admin.v1.InstanceSettingsService/GetSMTPSettings", `{}`)
		if raw, _ := json.Marshal(ans.body); ans.status != 200 || strings.Contains(string(raw), "top-secret") || !strings.Contains(string(raw), "passwordSet") {
			t.Fatalf("JSON answer %d %v", ans.status, ans.body)
		}
		_, err = viewer.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{Version: 1, Host: "evil.test", FromAddress: "x@evil.test"}))
		wantCode(t, "viewer writes", err, connect.CodePermissionDenied)
		_, err = viewer.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "x@evil.test"}))
		wantCode(t, "viewer sends", err, connect.CodePermissionDenied)
		_, err = client(a, iam.RoleOrgOwner).GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
		wantCode(t, "org owner reads", err, connect.CodePermissionDenied)
		if _, err := owner.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "admin@a.test", Language: "de"})); err != nil {
			t.Fatal(err)
		}
		_, err = owner.SetSMTPSettings(ctx, connect.NewRequest(&adminv1.SetSMTPSettingsRequest{Version: 1, Host: "smtp.a.test:25", FromAddress: "nope"}))
		wantCode(t, "invalid", err, connect.CodeInvalidArgument)
		var ce *connect.Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Message(), "host: ") || !strings.Contains(ce.Message(), "from_address: ") {
			t.Errorf("message %v does not name every field", err)
		}

		// Instance B sees nothing of A's settings and cannot touch them.
		bOwner := client(b, iam.RoleInstanceOwner)
		got, err = bOwner.GetSMTPSettings(ctx, connect.NewRequest(&adminv1.GetSMTPSettingsRequest{}))
		if err != nil || got.Msg.Settings != nil {
			t.Fatalf("B's settings = %v, %v", got, err)
		}
		_, err = bOwner.DeleteSMTPSettings(ctx, connect.NewRequest(&adminv1.DeleteSMTPSettingsRequest{Version: 1}))
		wantCode(t, "B deletes", err, connect.CodeNotFound)
		_, err = bOwner.SendTestEmail(ctx, connect.NewRequest(&adminv1.SendTestEmailRequest{To: "admin@b.test"}))
		wantCode(t, "B without a server", err, connect.CodeFailedPrecondition)

		if _, err := owner.DeleteSMTPSettings(ctx, connect.NewRequest(&adminv1.DeleteSMTPSettingsRequest{Version: 1})); err != nil {
			t.Fatal(err)
		}
		events := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: a.in.ID, Actor: a.users[iam.RoleInstanceOwner].ID}))
		if len(events) != 3 || events[0].EventType != iam.EventInstanceSMTPSettingsSet || events[2].EventType != iam.EventInstanceSMTPSettingsDeleted {
			t.Fatalf("A's owner's events: %d", len(events))
		}
		for _, e := range events {
			if strings.Contains(string(e.Payload), "top-secret") {
				t.Fatalf("audited password: %s", e.Payload)
			}
		}
		if strings.Contains(h.logs.String(), "internal error") {
			t.Errorf("internal errors were logged:\n%s", h.logs.String())
		}
	})
}

// TestInstanceSettingsSpotChecks spells out the table's decisions for the
// service.
func TestInstanceSettingsSpotChecks(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		methods := adminMethods(t)
		const p = "/rampart.admin.v1.InstanceSettingsService/"
		for _, tc := range []struct {
			role   iam.MemberRole
			method string
			denied bool
		}{
			{iam.RoleInstanceOwner, "GetSMTPSettings", false},
			{iam.RoleInstanceOwner, "SetSMTPSettings", false},
			{iam.RoleInstanceOwner, "DeleteSMTPSettings", false},
			{iam.RoleInstanceOwner, "SendTestEmail", false},
			{iam.RoleInstanceViewer, "GetSMTPSettings", false},
			{iam.RoleInstanceViewer, "SetSMTPSettings", true},
			{iam.RoleInstanceViewer, "DeleteSMTPSettings", true},
			{iam.RoleInstanceViewer, "SendTestEmail", true},
			{iam.RoleOrgOwner, "GetSMTPSettings", true},
			{iam.RoleOrgOwner, "SendTestEmail", true},
			{iam.RoleProjectOwner, "SetSMTPSettings", true},
		} {
			md := methods[p+tc.method]
			if md == nil {
				t.Fatalf("no method %s", tc.method)
			}
			_, err := h.invoke(t.Context(), a.host, a.tokens[tc.role], md, dynamicpb.NewMessage(md.Input()))
			if got := connect.CodeOf(err) == connect.CodePermissionDenied; got != tc.denied {
				t.Errorf("%s as %s: %v, want denied=%v", tc.method, tc.role, err, tc.denied)
			}
		}
	})
}
