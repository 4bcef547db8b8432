package api_test

import (
	"errors"
	"slices"
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
)

func TestInstanceService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		sys := h.newWorld(t, "System", "sys.test", true)
		a := h.newWorld(t, "A", "a.test", false)
		c := adminv1connect.NewInstanceServiceClient(h.client, h.url(sys.host), bearer(sys.owner()))

		created, err := c.CreateInstance(ctx, connect.NewRequest(&adminv1.CreateInstanceRequest{Name: "C", PrimaryDomain: "C.test", AdditionalDomains: []string{"login.c.test"}}))
		if err != nil {
			t.Fatal(err)
		}
		in := created.Msg.Instance
		if in.System || in.State != adminv1.State_STATE_ACTIVE || in.PrimaryDomain != "c.test" || in.Version != 1 || in.CreatedAt == nil {
			t.Fatalf("created %+v", in)
		}
		_, err = c.CreateInstance(ctx, connect.NewRequest(&adminv1.CreateInstanceRequest{Name: "Thief", PrimaryDomain: "a.test"}))
		wantCode(t, "taken domain", err, connect.CodeAlreadyExists)
		_, err = c.CreateInstance(ctx, connect.NewRequest(&adminv1.CreateInstanceRequest{Name: "", PrimaryDomain: "bad domain"}))
		wantCode(t, "invalid", err, connect.CodeInvalidArgument)
		var ce *connect.Error
		if errors.As(err, &ce) && (!strings.Contains(ce.Message(), "name: ") || !strings.Contains(ce.Message(), "primary_domain: ")) {
			t.Errorf("message %q does not name every field", ce.Message())
		}

		got, err := c.GetInstance(ctx, connect.NewRequest(&adminv1.GetInstanceRequest{InstanceId: a.in.ID}))
		if err != nil || got.Msg.Instance.Name != "A" {
			t.Fatalf("get A = %v, %v", got, err)
		}
		_, err = c.GetInstance(ctx, connect.NewRequest(&adminv1.GetInstanceRequest{InstanceId: iam.NewID()}))
		wantCode(t, "unknown instance", err, connect.CodeNotFound)
		_, err = c.GetInstance(ctx, connect.NewRequest(&adminv1.GetInstanceRequest{}))
		wantCode(t, "no instance_id", err, connect.CodeInvalidArgument)

		var ids []string
		token := ""
		for range 10 {
			page, err := c.ListInstances(ctx, connect.NewRequest(&adminv1.ListInstancesRequest{PageSize: 2, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range page.Msg.Instances {
				ids = append(ids, i.Id)
			}
			if token = page.Msg.NextPageToken; token == "" {
				break
			}
		}
		want := []string{sys.in.ID, a.in.ID, in.Id}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("listed %v, want %v", ids, want)
		}

		// Rename without a state keeps it; then deactivate: its host stops
		// resolving.
		upd, err := c.UpdateInstance(ctx, connect.NewRequest(&adminv1.UpdateInstanceRequest{InstanceId: in.Id, Version: 1, Name: "C2", PrimaryDomain: "c.test"}))
		if err != nil || upd.Msg.Instance.Name != "C2" || upd.Msg.Instance.State != adminv1.State_STATE_ACTIVE || len(upd.Msg.Instance.AdditionalDomains) != 0 {
			t.Fatalf("update = %+v, %v", upd, err)
		}
		_, err = c.UpdateInstance(ctx, connect.NewRequest(&adminv1.UpdateInstanceRequest{InstanceId: in.Id, Version: 1, Name: "C3", PrimaryDomain: "c.test"}))
		wantCode(t, "stale version", err, connect.CodeAborted)
		if _, err := c.UpdateInstance(ctx, connect.NewRequest(&adminv1.UpdateInstanceRequest{InstanceId: in.Id, Version: 2, Name: "C2", PrimaryDomain: "c.test", State: adminv1.State_STATE_INACTIVE})); err != nil {
			t.Fatal(err)
		}
		inactive, err := c.ListInstances(ctx, connect.NewRequest(&adminv1.ListInstancesRequest{State: adminv1.State_STATE_INACTIVE}))
		if err != nil || len(inactive.Msg.Instances) != 1 || inactive.Msg.Instances[0].Id != in.Id {
			t.Fatalf("inactive instances = %v, %v", inactive, err)
		}
		ans := h.postJSON(t, "c.test", sys.owner(), "/rampart.admin.v1.InstanceService/GetMyInstance", `{}`)
		if ans.status != 404 || ans.body["error"] != "instance_not_found" {
			t.Fatalf("inactive instance's host: %d %v", ans.status, ans.body)
		}
		_, err = c.UpdateInstance(ctx, connect.NewRequest(&adminv1.UpdateInstanceRequest{InstanceId: sys.in.ID, Version: sys.in.Version, Name: "System", PrimaryDomain: "sys.test", State: adminv1.State_STATE_INACTIVE}))
		wantCode(t, "deactivating the system instance", err, connect.CodeFailedPrecondition)

		// The changes were audited in the instance they concern, by the
		// system owner.
		events := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: in.Id, AggregateType: iam.AggregateInstance}))
		if len(events) != 3 || events[0].Actor != sys.users[iam.RoleInstanceOwner].ID {
			t.Fatalf("events of C: %d, first %+v", len(events), events[0])
		}
	})
}

func TestAuditService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		b := h.newWorld(t, "B", "b.test", false)
		c := adminv1connect.NewAuditServiceClient(h.client, h.url(a.host), bearer(a.tokens[iam.RoleInstanceViewer]))

		all := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: a.in.ID}))
		if len(all) < 10 {
			t.Fatalf("only %d events in A", len(all))
		}
		for _, desc := range []bool{false, true} {
			var got []int64
			token := ""
			for range len(all) {
				page, err := c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{PageSize: 3, PageToken: token, Descending: desc}))
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range page.Msg.Events {
					got = append(got, ev.Id)
					if ev.Payload == nil || ev.CreatedAt == nil || ev.EventType == "" {
						t.Fatalf("event %+v", ev)
					}
				}
				if token = page.Msg.NextPageToken; token == "" {
					break
				}
			}
			want := make([]int64, len(all))
			for i, ev := range all {
				want[i] = ev.ID
			}
			if desc {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("descending=%v: paged %v, want %v", desc, got, want)
			}
		}

		// Filters, and the payload as a struct.
		res, err := c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{
			AggregateType: iam.AggregateMembership, EventType: iam.EventMemberAdded,
			From: timestamppb.New(h.clock.Now().Add(-time.Hour)), To: timestamppb.New(h.clock.Now().Add(time.Hour)),
		}))
		if err != nil || len(res.Msg.Events) != len(iam.AllMemberRoles) {
			t.Fatalf("membership events = %v, %v", res, err)
		}
		after := res.Msg.Events[0].Payload.GetFields()["after"].GetStructValue().GetFields()
		if after["user_id"].GetStringValue() == "" || len(after["roles"].GetListValue().GetValues()) != 1 {
			t.Fatalf("payload %v", res.Msg.Events[0].Payload)
		}
		res, err = c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{To: timestamppb.New(h.clock.Now().Add(-time.Hour))}))
		if err != nil || len(res.Msg.Events) != 0 {
			t.Fatalf("events before an hour ago = %v, %v", res, err)
		}

		// A token of one direction does not continue the other.
		page, err := c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{PageSize: 1}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{PageSize: 1, PageToken: page.Msg.NextPageToken, Descending: true}))
		wantCode(t, "token of the other direction", err, connect.CodeInvalidArgument)
		_, err = c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{PageToken: "garbage"}))
		wantCode(t, "garbage token", err, connect.CodeInvalidArgument)
		_, err = c.ListAuditEvents(ctx, connect.NewRequest(&adminv1.ListAuditEventsRequest{PageSize: -1}))
		wantCode(t, "negative page size", err, connect.CodeInvalidArgument)

		// B's log holds none of A's events, whatever the filter.
		bc := adminv1connect.NewAuditServiceClient(h.client, h.url(b.host), bearer(b.owner()))
		for _, req := range []*adminv1.ListAuditEventsRequest{{}, {AggregateId: a.x.ID}, {Actor: iam.SystemActor, PageSize: 1000}} {
			res, err := bc.ListAuditEvents(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range res.Msg.Events {
				if slices.ContainsFunc(all, func(e *iam.AuditEvent) bool { return e.ID == ev.Id }) {
					t.Fatalf("B's log shows A's event %+v", ev)
				}
			}
		}
	})
}

func TestMembershipService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		a := h.newWorld(t, "A", "a.test", false)
		b := h.newWorld(t, "B", "b.test", false)
		c := adminv1connect.NewMembershipServiceClient(h.client, h.url(a.host), bearer(a.tokens[iam.RoleOrgOwner]))
		orgX := &adminv1.MemberTarget{Scope: adminv1.MemberScope_MEMBER_SCOPE_ORGANIZATION, OrgId: a.x.ID}
		nobody := a.noRoleUser.ID

		added, err := c.AddMember(ctx, connect.NewRequest(&adminv1.AddMemberRequest{Target: orgX, UserId: nobody, Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}}))
		if err != nil {
			t.Fatal(err)
		}
		m := added.Msg.Membership
		if m.UserId != nobody || m.Target.OrgId != a.x.ID || m.Target.Scope != orgX.Scope || m.Version != 1 || !slices.Equal(m.Roles, []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}) {
			t.Fatalf("added %+v", m)
		}
		// The new member may read the organization at once.
		if _, err := adminv1connect.NewOrganizationServiceClient(h.client, h.url(a.host), bearer(a.noRole)).
			GetOrganization(ctx, connect.NewRequest(&adminv1.GetOrganizationRequest{OrgId: a.x.ID})); err != nil {
			t.Fatalf("new member reading its organization: %v", err)
		}

		list, err := c.ListMembers(ctx, connect.NewRequest(&adminv1.ListMembersRequest{Target: orgX, PageSize: 1}))
		if err != nil || len(list.Msg.Memberships) != 1 || list.Msg.NextPageToken == "" {
			t.Fatalf("first page = %v, %v", list, err)
		}
		rest, err := c.ListMembers(ctx, connect.NewRequest(&adminv1.ListMembersRequest{Target: orgX, PageToken: list.Msg.NextPageToken}))
		if err != nil || len(rest.Msg.Memberships) != 2 { // ORG_OWNER, ORG_VIEWER of the world + nobody
			t.Fatalf("rest = %v, %v", rest, err)
		}
		mine, err := c.ListMembers(ctx, connect.NewRequest(&adminv1.ListMembersRequest{Target: orgX, UserId: nobody}))
		if err != nil || len(mine.Msg.Memberships) != 1 {
			t.Fatalf("filtered = %v, %v", mine, err)
		}

		upd, err := c.UpdateMember(ctx, connect.NewRequest(&adminv1.UpdateMemberRequest{Target: orgX, UserId: nobody, Version: 1,
			Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_OWNER}}))
		if err != nil || upd.Msg.Membership.Version != 2 {
			t.Fatalf("update = %v, %v", upd, err)
		}
		_, err = c.UpdateMember(ctx, connect.NewRequest(&adminv1.UpdateMemberRequest{Target: orgX, UserId: nobody, Version: 1,
			Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}}))
		wantCode(t, "stale update", err, connect.CodeAborted)

		for _, tc := range []struct {
			name string
			req  *adminv1.AddMemberRequest
			code connect.Code
		}{
			{"user of another instance", &adminv1.AddMemberRequest{Target: orgX, UserId: b.noRoleUser.ID, Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}}, connect.CodeNotFound},
			{"project of another org", &adminv1.AddMemberRequest{Target: &adminv1.MemberTarget{Scope: adminv1.MemberScope_MEMBER_SCOPE_PROJECT, OrgId: a.x.ID, ProjectId: a.r.ID}, UserId: nobody,
				Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_PROJECT_VIEWER}}, connect.CodeNotFound},
			{"duplicate", &adminv1.AddMemberRequest{Target: orgX, UserId: nobody, Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_ORG_VIEWER}}, connect.CodeAlreadyExists},
			{"unknown role", &adminv1.AddMemberRequest{Target: orgX, UserId: nobody, Roles: []adminv1.MemberRole{99}}, connect.CodeInvalidArgument},
			{"role of another scope", &adminv1.AddMemberRequest{Target: orgX, UserId: nobody, Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_PROJECT_OWNER}}, connect.CodeInvalidArgument},
			{"instance role by an org owner", &adminv1.AddMemberRequest{Target: &adminv1.MemberTarget{Scope: adminv1.MemberScope_MEMBER_SCOPE_INSTANCE}, UserId: nobody,
				Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_INSTANCE_OWNER}}, connect.CodePermissionDenied},
		} {
			_, err := c.AddMember(ctx, connect.NewRequest(tc.req))
			wantCode(t, tc.name, err, tc.code)
		}

		if _, err := c.RemoveMember(ctx, connect.NewRequest(&adminv1.RemoveMemberRequest{Target: orgX, UserId: nobody})); err != nil {
			t.Fatal(err)
		}
		_, err = c.RemoveMember(ctx, connect.NewRequest(&adminv1.RemoveMemberRequest{Target: orgX, UserId: nobody}))
		wantCode(t, "second remove", err, connect.CodeNotFound)

		// The last instance owner stays, even when removing itself.
		oc := adminv1connect.NewMembershipServiceClient(h.client, h.url(a.host), bearer(a.owner()))
		inst := &adminv1.MemberTarget{Scope: adminv1.MemberScope_MEMBER_SCOPE_INSTANCE}
		_, err = oc.RemoveMember(ctx, connect.NewRequest(&adminv1.RemoveMemberRequest{Target: inst, UserId: a.users[iam.RoleInstanceOwner].ID}))
		wantCode(t, "removing the last owner", err, connect.CodeFailedPrecondition)
		_, err = oc.UpdateMember(ctx, connect.NewRequest(&adminv1.UpdateMemberRequest{Target: inst, UserId: a.users[iam.RoleInstanceOwner].ID, Version: 1,
			Roles: []adminv1.MemberRole{adminv1.MemberRole_MEMBER_ROLE_INSTANCE_VIEWER}}))
		wantCode(t, "demoting the last owner", err, connect.CodeFailedPrecondition)

		events := must[[]*iam.AuditEvent](t)(s.AuditEventList(ctx, &store.AuditEventListParams{InstanceID: a.in.ID, Actor: a.users[iam.RoleOrgOwner].ID}))
		var types []string
		for _, e := range events {
			types = append(types, e.EventType)
		}
		if !slices.Equal(types, []string{iam.EventMemberAdded, iam.EventMemberChanged, iam.EventMemberRemoved}) {
			t.Fatalf("events by the org owner: %v", types)
		}
	})
}
