package user_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/user"
)

func TestCreateHuman(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{
			InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: " Alice ", Password: "correct horse",
			Profile: iam.HumanProfile{Email: " Alice@Example.com ", EmailVerified: true, GivenName: "Alice", FamilyName: "Liddell",
				PreferredLanguage: "de-ch", PasswordChangeRequired: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Type != iam.UserHuman || u.LoginName != "Alice" || u.State != iam.UserActive || u.Version != 1 ||
			u.Human.Email != "Alice@Example.com" || u.Human.PreferredLanguage != "de-CH" || !u.Human.PasswordChangeRequired || u.Machine != nil {
			t.Fatalf("created %+v %+v", u, u.Human)
		}
		// The password is stored as an Argon2id hash, never in plain text.
		row := e.stored(u.ID)
		if !strings.HasPrefix(row.PasswordHash, "$argon2id$") || strings.Contains(row.PasswordHash, "correct horse") {
			t.Fatalf("stored password hash %q", row.PasswordHash)
		}
		got, err := e.svc.Get(ctx, e.ref(u))
		if err != nil || got.ID != u.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		ev := e.events(iam.EventUserCreated)
		if len(ev) != 1 || ev[0].Actor != "admin" || ev[0].AggregateType != iam.AggregateUser || ev[0].AggregateID != u.ID {
			t.Fatalf("created events %+v", ev)
		}
		if p := string(ev[0].Payload); strings.Contains(p, "argon2") || strings.Contains(p, "correct horse") ||
			payload(t, ev[0])["after"].(map[string]any)["has_password"] != true {
			t.Fatalf("payload %s", p)
		}

		// Without a password; pre-hashed (bootstrap) with a fixed ID.
		nopw, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "bob", Profile: iam.HumanProfile{Email: "bob@example.com"}})
		if err != nil || nopw.PasswordHash != "" {
			t.Fatalf("without password: %+v, %v", nopw, err)
		}
		hash, _ := fastPasswords.Hash("bootstrap-pass")
		fixedID := iam.NewID()
		boot, err := e.svc.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{ID: fixedID, InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "root",
			PasswordHash: hash, Profile: iam.HumanProfile{Email: "root@example.com"}})
		if err != nil || boot.ID != fixedID || boot.PasswordHash != hash {
			t.Fatalf("bootstrap user: %+v, %v", boot, err)
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "ROOT", "bootstrap-pass"); err != nil {
			t.Fatalf("login with pre-hashed password: %v", err)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ie := e.noEvent("every field bad", iam.Invalid, func() error {
			_, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "al ice", Password: "short",
				Profile: iam.HumanProfile{Email: "Alice <alice@example.com>", GivenName: strings.Repeat("x", 201), FamilyName: "a\x00b", PreferredLanguage: "not a tag"}})
			return err
		})
		for _, f := range []string{"login_name:", "email:", "given_name:", "family_name:", "preferred_language:", "password:"} {
			if !strings.Contains(ie.Message, f) {
				t.Errorf("message %q does not name %s", ie.Message, f)
			}
		}
		for _, tc := range []struct {
			name  string
			in    user.NewHuman
			field string
		}{
			{"no login name", user.NewHuman{Profile: iam.HumanProfile{Email: "a@example.com"}}, "login_name"},
			{"login name too long", user.NewHuman{LoginName: strings.Repeat("a", 201), Profile: iam.HumanProfile{Email: "a@example.com"}}, "login_name"},
			{"control character", user.NewHuman{LoginName: "a\tb", Profile: iam.HumanProfile{Email: "a@example.com"}}, "login_name"},
			{"no email", user.NewHuman{LoginName: "a"}, "email"},
			{"email without at", user.NewHuman{LoginName: "a", Profile: iam.HumanProfile{Email: "example.com"}}, "email"},
			{"whitespace password", user.NewHuman{LoginName: "a", Password: "          ", Profile: iam.HumanProfile{Email: "a@example.com"}}, "password"},
			{"long password", user.NewHuman{LoginName: "a", Password: strings.Repeat("p", 257), Profile: iam.HumanProfile{Email: "a@example.com"}}, "password"},
			{"password and hash", user.NewHuman{LoginName: "a", Password: "long enough", PasswordHash: "$2a$", Profile: iam.HumanProfile{Email: "a@example.com"}}, "password"},
			{"bad hash", user.NewHuman{LoginName: "a", PasswordHash: "md5:abc", Profile: iam.HumanProfile{Email: "a@example.com"}}, "password_hash"},
			{"bad state", user.NewHuman{LoginName: "a", State: "gone", Profile: iam.HumanProfile{Email: "a@example.com"}}, "state"},
		} {
			tc.in.InstanceID, tc.in.OrgID = e.in.ID, e.org.ID
			ie := e.noEvent(tc.name, iam.Invalid, func() error { _, err := e.svc.CreateHuman(ctx, "admin", &tc.in); return err })
			if ie.Field != tc.field {
				t.Errorf("%s: field %q, want %q (%v)", tc.name, ie.Field, tc.field, ie)
			}
		}
		ie = e.noEvent("machine name too long", iam.Invalid, func() error {
			_, err := e.svc.CreateMachine(ctx, "admin", &user.NewMachine{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "bot", Profile: iam.MachineProfile{Name: strings.Repeat("n", 201)}})
			return err
		})
		if ie.Field != "name" {
			t.Errorf("machine name: field %q", ie.Field)
		}
		ie = e.noEvent("short fixed secret", iam.Invalid, func() error {
			_, err := e.svc.CreateMachine(ctx, "admin", &user.NewMachine{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "bot", ClientSecret: "too-short"})
			return err
		})
		if ie.Field != "client_secret" {
			t.Errorf("client secret: field %q", ie.Field)
		}
		// An organization of another instance does not exist here.
		ie = e.noEvent("foreign org", iam.NotFound, func() error {
			_, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{InstanceID: e.in.ID, OrgID: e.otherO.ID, LoginName: "x", Profile: iam.HumanProfile{Email: "x@example.com"}})
			return err
		})
		if ie.Field != "org_id" {
			t.Errorf("foreign org: field %q", ie.Field)
		}
	})
}

func TestDuplicateLoginName(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		a := e.human("alice", "")
		b := e.human("bob", "")
		for _, tc := range []struct {
			name string
			fn   func() error
		}{
			{"human, other case, other org", func() error {
				_, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{InstanceID: e.in.ID, OrgID: e.org2.ID, LoginName: "ALICE", Profile: iam.HumanProfile{Email: "b@example.com"}})
				return err
			}},
			{"machine", func() error {
				_, err := e.svc.CreateMachine(ctx, "admin", &user.NewMachine{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "Alice"})
				return err
			}},
			{"rename", func() error {
				_, err := e.svc.UpdateHuman(ctx, "admin", e.ref(b), b.Version, &user.HumanUpdate{LoginName: "aLiCe", Profile: *b.Human})
				return err
			}},
		} {
			ie := e.noEvent(tc.name, iam.AlreadyExists, tc.fn)
			if ie.Field != "login_name" || !strings.Contains(ie.Message, "taken") {
				t.Errorf("%s: %v", tc.name, ie)
			}
		}
		ie := e.noEvent("fixed id taken", iam.AlreadyExists, func() error {
			_, err := e.svc.CreateMachine(ctx, "admin", &user.NewMachine{ID: a.ID, InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "fresh"})
			return err
		})
		if ie.Field != "id" {
			t.Errorf("fixed id: %v", ie)
		}
		// The same login name is free in another instance.
		if _, err := e.svc.CreateHuman(ctx, "admin", &user.NewHuman{InstanceID: e.other.ID, OrgID: e.otherO.ID, LoginName: "alice", Profile: iam.HumanProfile{Email: "a@example.com"}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCrossOrgAndInstance(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "long password")
		m := e.machine("robot")
		for name, ref := range map[string]user.Ref{
			"other org":                  {InstanceID: e.in.ID, OrgID: e.org2.ID, ID: u.ID},
			"other instance":             {InstanceID: e.other.ID, ID: u.ID},
			"other instance and its org": {InstanceID: e.other.ID, OrgID: e.otherO.ID, ID: u.ID},
		} {
			mref := ref
			mref.ID = m.ID
			if _, err := e.svc.Get(ctx, ref); !iam.IsCode(err, iam.NotFound) {
				t.Errorf("%s: get = %v", name, err)
			}
			e.noEvent(name+" update", iam.NotFound, func() error {
				_, err := e.svc.UpdateHuman(ctx, "x", ref, u.Version, &user.HumanUpdate{LoginName: "hijack", Profile: *u.Human})
				return err
			})
			e.noEvent(name+" state", iam.NotFound, func() error { _, err := e.svc.SetState(ctx, "x", ref, u.Version, iam.UserLocked); return err })
			e.noEvent(name+" delete", iam.NotFound, func() error { return e.svc.Delete(ctx, "x", ref, u.Version) })
			e.noEvent(name+" set password", iam.NotFound, func() error { _, err := e.svc.SetPassword(ctx, "x", ref, "new password", false); return err })
			e.noEvent(name+" reset password", iam.NotFound, func() error { _, _, err := e.svc.ResetPassword(ctx, "x", ref); return err })
			e.noEvent(name+" secret", iam.NotFound, func() error { _, _, err := e.svc.GenerateClientSecret(ctx, "x", mref); return err })
			e.noEvent(name+" add pat", iam.NotFound, func() error {
				_, _, err := e.svc.AddPAT(ctx, "x", ref, &user.NewPAT{ExpiresAt: e.clock.Now().Add(time.Hour)})
				return err
			})
			if _, err := e.svc.ListPATs(ctx, ref, "", 10); !iam.IsCode(err, iam.NotFound) {
				t.Errorf("%s: list pats = %v", name, err)
			}
			e.noEvent(name+" add key", iam.NotFound, func() error {
				_, _, err := e.svc.AddMachineKey(ctx, "x", mref, &user.NewMachineKey{PublicKeyPEM: ecPEM(t), ExpiresAt: e.clock.Now().Add(time.Hour)})
				return err
			})
			if _, err := e.svc.ListMachineKeys(ctx, mref, "", 10); !iam.IsCode(err, iam.NotFound) {
				t.Errorf("%s: list keys = %v", name, err)
			}
		}
		if l, err := e.svc.List(ctx, e.other.ID, user.ListQuery{}); err != nil || len(l) != 0 {
			t.Fatalf("list through other instance = %d users, %v", len(l), err)
		}
		if l, err := e.svc.List(ctx, e.in.ID, user.ListQuery{OrgID: e.org2.ID}); err != nil || len(l) != 0 {
			t.Fatalf("list other org = %d users, %v", len(l), err)
		}
		if _, err := e.svc.CheckPassword(ctx, e.other.ID, "alice", "long password"); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("login through other instance = %v", err)
		}
		if _, err := e.svc.Get(ctx, user.Ref{ID: u.ID}); err == nil {
			t.Fatal("get without instance succeeded")
		}
		// The organization is optional: the instance alone finds the user.
		if got, err := e.svc.Get(ctx, user.Ref{InstanceID: e.in.ID, ID: u.ID}); err != nil || got.ID != u.ID {
			t.Fatalf("get without org = %v", err)
		}
	})
}

func TestList(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		for _, n := range []string{"anna", "Annabel", "bob", "ann"} {
			e.human(n, "")
		}
		e.machine("annbot")
		q := user.ListQuery{LoginNamePrefix: "ANN", Limit: 2}
		var names []string
		for range 10 {
			page, err := e.svc.List(ctx, e.in.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				names = append(names, u.LoginName)
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterKey, q.AfterID = q.SortKey(last), last.ID
		}
		if strings.Join(names, ",") != "ann,anna,Annabel,annbot" {
			t.Fatalf("login prefix pages = %v", names)
		}
		q = user.ListQuery{EmailPrefix: "ANNA", Limit: 1}
		names = nil
		for range 10 {
			page, err := e.svc.List(ctx, e.in.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				names = append(names, u.LoginName)
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterKey, q.AfterID = q.SortKey(last), last.ID
		}
		if strings.Join(names, ",") != "anna,Annabel" {
			t.Fatalf("email prefix pages = %v", names)
		}
		machines, err := e.svc.List(ctx, e.in.ID, user.ListQuery{OrgID: e.org.ID, Type: iam.UserMachine})
		if err != nil || len(machines) != 1 || machines[0].LoginName != "annbot" {
			t.Fatalf("machines = %v, %v", machines, err)
		}
		if _, err := e.svc.List(ctx, e.in.ID, user.ListQuery{Type: "robot", State: "x"}); !iam.IsCode(err, iam.Invalid) || !strings.Contains(err.Error(), "state") {
			t.Fatalf("bad filters = %v", err)
		}
	})
}

func TestUpdateStateDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "long password")
		if _, err := e.svc.SetPassword(ctx, "admin", e.ref(u), "another password", true); err != nil {
			t.Fatal(err)
		}
		u = e.stored(u.ID)
		up, err := e.svc.UpdateHuman(ctx, "editor", e.ref(u), u.Version, &user.HumanUpdate{LoginName: "alice.l",
			Profile: iam.HumanProfile{Email: "al@example.com", GivenName: "Alice", FamilyName: "L", PreferredLanguage: "EN-gb"}})
		if err != nil {
			t.Fatal(err)
		}
		if up.LoginName != "alice.l" || up.Human.Email != "al@example.com" || up.Human.PreferredLanguage != "en-GB" ||
			!up.Human.PasswordChangeRequired || up.PasswordHash != u.PasswordHash || up.Version != u.Version+1 {
			t.Fatalf("updated %+v %+v", up, up.Human)
		}
		ev := e.events(iam.EventUserChanged)
		if len(ev) != 1 || ev[0].Actor != "editor" {
			t.Fatalf("changed events %+v", ev)
		}
		p := payload(t, ev[0])
		if p["before"].(map[string]any)["login_name"] != "alice" || p["after"].(map[string]any)["login_name"] != "alice.l" {
			t.Fatalf("changed payload %v", p)
		}
		// No-op: no new version, no event.
		same, err := e.svc.UpdateHuman(ctx, "editor", e.ref(up), up.Version, &user.HumanUpdate{LoginName: "alice.l", Profile: *up.Human})
		if err != nil || same.Version != up.Version || len(e.events(iam.EventUserChanged)) != 1 {
			t.Fatalf("no-op update = %+v, %v", same, err)
		}
		e.noEvent("stale update", iam.Conflict, func() error {
			_, err := e.svc.UpdateHuman(ctx, "editor", e.ref(up), u.Version, &user.HumanUpdate{LoginName: "x", Profile: *up.Human})
			return err
		})
		e.noEvent("invalid update", iam.Invalid, func() error {
			_, err := e.svc.UpdateHuman(ctx, "editor", e.ref(up), up.Version, &user.HumanUpdate{LoginName: "x", Profile: iam.HumanProfile{Email: "nope"}})
			return err
		})
		e.noEvent("update human as machine", iam.FailedPrecondition, func() error {
			_, err := e.svc.UpdateMachine(ctx, "editor", e.ref(up), up.Version, &user.MachineUpdate{LoginName: "x"})
			return err
		})

		m := e.machine("robot")
		if m.Machine.Name != "robot" {
			t.Fatalf("machine name default = %q", m.Machine.Name)
		}
		um, err := e.svc.UpdateMachine(ctx, "editor", e.ref(m), m.Version, &user.MachineUpdate{LoginName: "r2", Profile: iam.MachineProfile{Name: "R2-D2", Description: "astromech"}})
		if err != nil || um.LoginName != "r2" || um.Machine.Name != "R2-D2" || um.Machine.Description != "astromech" {
			t.Fatalf("machine update %+v, %v", um, err)
		}
		e.noEvent("update machine as human", iam.FailedPrecondition, func() error {
			_, err := e.svc.UpdateHuman(ctx, "editor", e.ref(um), um.Version, &user.HumanUpdate{LoginName: "x", Profile: iam.HumanProfile{Email: "x@example.com"}})
			return err
		})

		locked, err := e.svc.SetState(ctx, "sec", e.ref(up), up.Version, iam.UserLocked)
		if err != nil || locked.State != iam.UserLocked || locked.Version != up.Version+1 {
			t.Fatalf("lock = %+v, %v", locked, err)
		}
		if ev := e.events(iam.EventUserStateChanged); len(ev) != 1 || payload(t, ev[0])["after"] != "locked" {
			t.Fatalf("state events %+v", ev)
		}
		e.noEvent("stale state", iam.Conflict, func() error { _, err := e.svc.SetState(ctx, "sec", e.ref(up), up.Version, iam.UserActive); return err })
		e.noEvent("bad state", iam.Invalid, func() error { _, err := e.svc.SetState(ctx, "sec", e.ref(up), locked.Version, "gone"); return err })

		e.noEvent("stale delete", iam.Conflict, func() error { return e.svc.Delete(ctx, "admin", e.ref(locked), up.Version) })
		if err := e.svc.Delete(ctx, "admin", e.ref(locked), locked.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Get(ctx, e.ref(locked)); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("get deleted = %v", err)
		}
		if ev := e.events(iam.EventUserDeleted); len(ev) != 1 || ev[0].AggregateID != u.ID {
			t.Fatalf("deleted events %+v", ev)
		}
	})
}
