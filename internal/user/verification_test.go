package user_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/user"
)

// capture is a user.Notify that records the tokens it is given.
type capture struct{ tokens []string }

func (c *capture) notify(_ context.Context, _ store.Queries, _ *iam.User, token string) error {
	c.tokens = append(c.tokens, token)
	return nil
}

func (c *capture) last(t *testing.T) string {
	t.Helper()
	if len(c.tokens) == 0 {
		t.Fatal("no token sent")
	}
	return c.tokens[len(c.tokens)-1]
}

func TestVerifyEmail(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("vera", "correct horse battery")
		var c capture
		if err := e.svc.IssueEmailVerification(ctx, "admin", e.ref(u), c.notify); err != nil {
			t.Fatal(err)
		}
		tok := c.last(t)
		if !strings.HasPrefix(tok, user.VerifyEmailPrefix) || len(tok) < 40 {
			t.Fatalf("token %q", tok)
		}
		// Wrong instance and garbage change nothing.
		e.noEvent("other instance", iam.NotFound, func() error { _, err := e.svc.VerifyEmail(ctx, e.other.ID, tok); return err })
		e.noEvent("garbage", iam.NotFound, func() error { _, err := e.svc.VerifyEmail(ctx, e.in.ID, tok+"x"); return err })
		got, err := e.svc.VerifyEmail(ctx, e.in.ID, tok)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Human.EmailVerified || !e.stored(u.ID).Human.EmailVerified {
			t.Fatal("e-mail not verified")
		}
		if len(e.events(user.EventUserEmailVerified)) != 1 {
			t.Fatal("no email_verified event")
		}
		// Single use.
		e.noEvent("reuse", iam.NotFound, func() error { _, err := e.svc.VerifyEmail(ctx, e.in.ID, tok); return err })
		// Verified already: nothing to send.
		e.noEvent("verified", iam.FailedPrecondition, func() error {
			return e.svc.IssueEmailVerification(ctx, "admin", e.ref(u), c.notify)
		})

		// Expired after 24 hours.
		u2 := e.human("vera2", "correct horse battery")
		if err := e.svc.IssueEmailVerification(ctx, "admin", e.ref(u2), c.notify); err != nil {
			t.Fatal(err)
		}
		tok2 := c.last(t)
		e.clock.Advance(user.VerifyEmailLifetime)
		e.noEvent("expired", iam.NotFound, func() error { _, err := e.svc.VerifyEmail(ctx, e.in.ID, tok2); return err })
		if e.stored(u2.ID).Human.EmailVerified {
			t.Fatal("expired token verified the address")
		}

		// A token for an address the user no longer has verifies nothing.
		if err := e.svc.IssueEmailVerification(ctx, "admin", e.ref(u2), c.notify); err != nil {
			t.Fatal(err)
		}
		tok3 := c.last(t)
		cur := e.stored(u2.ID)
		p := *cur.Human
		p.Email = "new@example.com"
		if _, err := e.svc.UpdateHuman(ctx, "admin", e.ref(cur), cur.Version, &user.HumanUpdate{LoginName: cur.LoginName, Profile: p}); err != nil {
			t.Fatal(err)
		}
		e.noEvent("changed address", iam.NotFound, func() error { _, err := e.svc.VerifyEmail(ctx, e.in.ID, tok3); return err })
		if e.stored(u2.ID).Human.EmailVerified {
			t.Fatal("old token verified the new address")
		}
	})
}

func TestPasswordReset(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("rita", "old password 123")
		var c capture

		// Unknown, machine and disabled users: nil, nothing sent.
		m := e.machine("robot")
		for _, name := range []string{"nobody", m.LoginName, ""} {
			if err := e.svc.RequestPasswordReset(ctx, e.in.ID, name, c.notify); err != nil {
				t.Fatalf("%q: %v", name, err)
			}
		}
		if err := e.svc.RequestPasswordReset(ctx, e.other.ID, u.LoginName, c.notify); err != nil {
			t.Fatal(err)
		}
		if len(c.tokens) != 0 {
			t.Fatalf("sent %d tokens to non-users", len(c.tokens))
		}

		if err := e.svc.RequestPasswordReset(ctx, e.in.ID, "RITA", c.notify); err != nil {
			t.Fatal(err)
		}
		first := c.last(t)
		if err := e.svc.RequestPasswordReset(ctx, e.in.ID, u.LoginName, c.notify); err != nil {
			t.Fatal(err)
		}
		tok := c.last(t)
		if !strings.HasPrefix(tok, user.PasswordResetPrefix) || tok == first {
			t.Fatalf("tokens %q %q", first, tok)
		}
		if len(e.events(user.EventUserPasswordResetSent)) != 2 {
			t.Fatal("want two password_reset_sent events")
		}
		if err := e.svc.CheckPasswordResetToken(ctx, e.in.ID, tok); err != nil {
			t.Fatalf("check: %v", err)
		}
		if err := e.svc.CheckPasswordResetToken(ctx, e.in.ID, "rpr_nope"); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("check unknown: %v", err)
		}
		e.noEvent("weak", iam.Invalid, func() error {
			_, err := e.svc.CompletePasswordReset(ctx, e.in.ID, tok, "short", c.notify)
			return err
		})
		e.noEvent("other instance", iam.NotFound, func() error {
			_, err := e.svc.CompletePasswordReset(ctx, e.other.ID, tok, "new password 456", c.notify)
			return err
		})
		n := len(c.tokens)
		if _, err := e.svc.CompletePasswordReset(ctx, e.in.ID, tok, "new password 456", c.notify); err != nil {
			t.Fatal(err)
		}
		if len(c.tokens) != n+1 || c.last(t) != "" {
			t.Fatal("no password-changed notice")
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, u.LoginName, "new password 456"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		// Used, and the user's other reset token is gone too.
		for name, tk := range map[string]string{"reuse": tok, "older token": first} {
			e.noEvent(name, iam.NotFound, func() error {
				_, err := e.svc.CompletePasswordReset(ctx, e.in.ID, tk, "third password 789", c.notify)
				return err
			})
		}

		// Expired after an hour.
		if err := e.svc.RequestPasswordReset(ctx, e.in.ID, u.LoginName, c.notify); err != nil {
			t.Fatal(err)
		}
		late := c.last(t)
		e.clock.Advance(user.PasswordResetLifetime + time.Second)
		e.noEvent("expired", iam.NotFound, func() error {
			_, err := e.svc.CompletePasswordReset(ctx, e.in.ID, late, "third password 789", c.notify)
			return err
		})
	})
}
