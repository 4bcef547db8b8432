package user_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/user"
)

func TestLockout(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("alice", "correct horse")
		fail := func(max int) (int, bool) {
			t.Helper()
			n, locked, err := e.svc.RecordFailedLogin(ctx, e.in.ID, u.ID, iam.FailurePassword, max)
			if err != nil {
				t.Fatal(err)
			}
			return n, locked
		}
		for want := 1; want <= 2; want++ {
			if n, locked := fail(3); n != want || locked {
				t.Fatalf("failure %d: count %d, locked %v", want, n, locked)
			}
		}
		// One-time codes count apart and lock at their own maximum.
		if n, locked, err := e.svc.RecordFailedLogin(ctx, e.in.ID, u.ID, iam.FailureOTP, 3); err != nil || n != 1 || locked {
			t.Fatalf("OTP failure: %d, %v, %v", n, locked, err)
		}
		if c, err := e.svc.FailedLogins(ctx, e.ref(u)); err != nil || c != (user.FailureCounts{Password: 2, OTP: 1}) {
			t.Fatalf("counts %+v, %v", c, err)
		}
		if err := e.svc.ResetFailedLogins(ctx, e.in.ID, u.ID, iam.FailurePassword); err != nil {
			t.Fatal(err)
		}
		if c, err := e.svc.FailedLogins(ctx, e.ref(u)); err != nil || c != (user.FailureCounts{OTP: 1}) {
			t.Fatalf("after reset: %+v, %v", c, err)
		}
		if _, _, err := e.svc.RecordFailedLogin(ctx, e.in.ID, u.ID, "guess", 3); !iam.IsCode(err, iam.Internal) {
			t.Fatalf("unknown kind: %v", err)
		}
		// Without a maximum nothing locks.
		for range 5 {
			if _, locked := fail(0); locked {
				t.Fatal("locked without a maximum")
			}
		}
		if n, locked := fail(6); n != 6 || !locked {
			t.Fatalf("sixth failure with maximum 6: count %d, locked %v", n, locked)
		}
		if got := e.stored(u.ID); got.State != iam.UserLocked || got.Version != u.Version+1 {
			t.Fatalf("stored %+v", got)
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "alice", "correct horse"); !iam.IsCode(err, iam.Unauthenticated) {
			t.Fatalf("right password of a locked user: %v", err)
		}
		if n, locked := fail(6); n != 7 || locked {
			t.Fatalf("failure of a locked user: count %d, locked %v", n, locked)
		}
		ev := e.events(iam.EventUserLocked)
		if len(ev) != 1 || ev[0].Actor != iam.SystemActor || ev[0].AggregateID != u.ID || payload(t, ev[0])["failed_attempts"] != float64(6) {
			t.Fatalf("lock events %+v", ev)
		}

		e.noEvent("unlock through another organization", iam.NotFound, func() error {
			_, err := e.svc.Unlock(ctx, "admin", user.Ref{InstanceID: e.in.ID, OrgID: e.org2.ID, ID: u.ID})
			return err
		})
		unlocked, err := e.svc.Unlock(ctx, "admin", e.ref(u))
		if err != nil || unlocked.State != iam.UserActive {
			t.Fatalf("unlock = %+v, %v", unlocked, err)
		}
		if c, _ := e.svc.FailedLogins(ctx, e.ref(u)); c != (user.FailureCounts{}) {
			t.Fatalf("failures after unlock: %+v", c)
		}
		if _, err := e.svc.CheckPassword(ctx, e.in.ID, "alice", "correct horse"); err != nil {
			t.Fatalf("login after unlock: %v", err)
		}
		ev = e.events(iam.EventUserUnlocked)
		if len(ev) != 1 || ev[0].Actor != "admin" || payload(t, ev[0])["failed_password_attempts"] != float64(7) ||
			payload(t, ev[0])["failed_otp_attempts"] != float64(1) {
			t.Fatalf("unlock events %+v", ev)
		}
		// Unlocking an active user only resets the count.
		fail(10)
		before := e.countEvents()
		if got, err := e.svc.Unlock(ctx, "admin", e.ref(u)); err != nil || got.Version != unlocked.Version {
			t.Fatalf("unlock of an active user = %+v, %v", got, err)
		}
		if c, _ := e.svc.FailedLogins(ctx, e.ref(u)); c != (user.FailureCounts{}) || e.countEvents() != before {
			t.Fatalf("unlock of an active user: %+v failures, %d new events", c, e.countEvents()-before)
		}
		if _, _, err := e.svc.RecordFailedLogin(ctx, e.in.ID, iam.NewID(), iam.FailurePassword, 3); !iam.IsCode(err, iam.NotFound) {
			t.Fatalf("failure of an unknown user: %v", err)
		}
	})
}

func TestLockoutConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := e.human("bob", "correct horse")
		counts := make([]int, 8)
		locks := make([]bool, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() { counts[i], locks[i], errs[i] = e.svc.RecordFailedLogin(ctx, e.in.ID, u.ID, iam.FailureOTP, 5) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(counts)
		if !slices.Equal(counts, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("counts %v", counts)
		}
		if n := len(slices.DeleteFunc(locks, func(b bool) bool { return !b })); n != 1 {
			t.Fatalf("%d calls locked the user, want 1", n)
		}
		if e.stored(u.ID).State != iam.UserLocked || len(e.events(iam.EventUserLocked)) != 1 {
			t.Fatal("user not locked exactly once")
		}
	})
}
