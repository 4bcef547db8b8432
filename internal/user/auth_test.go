package user_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/user"
)

func TestCheckPassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("Alice", "long password")
		got, err := e.svc.CheckPassword(ctx, e.in.ID, " alice ", "long password")
		if err != nil || got.ID != u.ID || got.Version != u.Version {
			t.Fatalf("login = %+v, %v", got, err)
		}
		e.human("nopass", "")
		m := e.machine("robot")
		_ = m
		var messages []string
		for name, tc := range map[string][2]string{
			"wrong password":        {"alice", "long passwork"},
			"unknown user":          {"mallory", "long password"},
			"user with no password": {"nopass", ""},
			"machine user":          {"robot", "whatever"},
		} {
			_, err := e.svc.CheckPassword(ctx, e.in.ID, tc[0], tc[1])
			if !iam.IsCode(err, iam.Unauthenticated) {
				t.Fatalf("%s: %v", name, err)
			}
			messages = append(messages, err.(*iam.Error).Message)
		}
		cur := e.stored(u.ID)
		if _, err := e.svc.SetState(ctx, "admin", e.ref(cur), cur.Version, iam.UserInactive); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckPassword(ctx, e.in.ID, "alice", "long password")
		if !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("inactive: %v", err)
		}
		messages = append(messages, err.(*iam.Error).Message)
		for _, msg := range messages {
			if msg != messages[0] {
				t.Fatalf("messages differ, revealing why: %q", messages)
			}
		}
		if ev := e.events(iam.EventUserPasswordSet); len(ev) != 0 {
			t.Fatalf("logins without rehash appended %d events", len(ev))
		}
	})
}

func TestRehashOnLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "long password")
		if _, err := e.svc.SetPassword(ctx, "admin", e.ref(u), "long password", true); err != nil {
			t.Fatal(err)
		}
		before := e.stored(u.ID)
		// The operator raised the cost: the next login upgrades the hash.
		stronger := &crypto.PasswordHasher{MemoryKiB: 128, Iterations: 2, Parallelism: 1}
		svc2 := user.New(e.s, user.Options{Secrets: e.secrets, Passwords: stronger, Now: e.clock.Now})
		got, err := svc2.CheckPassword(ctx, e.in.ID, "alice", "long password")
		if err != nil {
			t.Fatal(err)
		}
		after := e.stored(u.ID)
		if !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") || after.Version != before.Version+1 ||
			!after.Human.PasswordChangeRequired || got.Version != after.Version {
			t.Fatalf("after rehash: %+v %+v (returned version %d)", after, after.Human, got.Version)
		}
		ev := e.events(iam.EventUserPasswordSet)
		last := ev[len(ev)-1]
		if last.Actor != iam.SystemActor || payload(t, last)["reason"] != "rehash" || strings.Contains(string(last.Payload), "argon2") {
			t.Fatalf("rehash event %+v", last)
		}
		// Same parameters now: no further rehash.
		if _, err := svc2.CheckPassword(ctx, e.in.ID, "alice", "long password"); err != nil || e.stored(u.ID).Version != after.Version {
			t.Fatalf("second login rehashed again: %v", err)
		}
		// The old hasher still verifies the new hash (and would move it back).
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "alice", "long password"); err != nil {
			t.Fatal(err)
		}

		// Imported bcrypt hashes verify and are upgraded to Argon2id.
		b, _ := bcrypt.GenerateFromPassword([]byte("imported pw"), bcrypt.MinCost)
		imp, err := e.svc.CreateHuman(ctx, iam.SystemActor, &user.NewHuman{InstanceID: e.in.ID, OrgID: e.org.ID, LoginName: "legacy",
			PasswordHash: "$2y$" + string(b[4:]), Profile: iam.HumanProfile{Email: "legacy@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "legacy", "imported pw"); err != nil {
			t.Fatal(err)
		}
		if h := e.stored(imp.ID).PasswordHash; !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("bcrypt hash not upgraded: %q", h)
		}
	})
}
