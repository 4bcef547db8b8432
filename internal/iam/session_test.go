package iam_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rampartiam/rampart/internal/iam"
)

func TestCleanClientText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Mozilla/5.0", 100, "Mozilla/5.0"},
		{"control characters and spaces", " a\x00b\nc\t ", 100, "abc"},
		{"invalid UTF-8", "a\xffb", 100, "a\uFFFDb"},
		{"cut at a character boundary", "aé", 2, "a"},
		{"cut exactly", "abcdef", 3, "abc"},
	} {
		if got := iam.CleanClientText(c.in, c.max); got != c.want {
			t.Errorf("%s: CleanClientText(%q, %d) = %q, want %q", c.name, c.in, c.max, got, c.want)
		}
	}
	long := iam.CleanClientText(strings.Repeat("€", 1000), iam.MaxUserAgentLength)
	if len(long) > iam.MaxUserAgentLength || !utf8.ValidString(long) {
		t.Errorf("long text: %d bytes, valid %v", len(long), utf8.ValidString(long))
	}
}

func TestLoginSessionState(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s := &iam.LoginSession{PasswordVerifiedAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Minute)}
	if s.Identified() || s.PasswordVerified() || s.MFAVerified() {
		t.Fatalf("anonymous session counts as authenticated: %+v", s)
	}
	s.UserID = "u"
	if !s.PasswordVerified() || s.MFAVerified() || !s.AuthTime().Equal(now) {
		t.Fatalf("password session: %+v", s)
	}
	s.MFAVerifiedAt = now.Add(time.Second)
	if !s.MFAVerified() || !s.AuthTime().Equal(s.MFAVerifiedAt) {
		t.Fatalf("MFA session: %+v", s)
	}
	if !s.Alive(now) || s.Alive(now.Add(time.Minute)) || s.Alive(now.Add(time.Hour)) {
		t.Fatal("alive before idle expiry only")
	}
	c := s.Clone()
	c.AMR = append(c.AMR, "x")
	if len(s.AMR) != 0 {
		t.Fatal("clone shares AMR")
	}
	if got := iam.AddAMR([]string{"pwd"}, "otp", "pwd", "", "mfa"); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("AddAMR = %v", got)
	}
}
