package iam

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestValidateDomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // substring of the problem, "" for valid
	}{
		{"example.com", ""},
		{"localhost", ""},
		{"a-b.c0", ""},
		{"127.0.0.1", ""},
		{"[::1]", ""},
		{"", "must not be empty"},
		{"::1", "brackets"},
		{"[127.0.0.1]", "IPv6"},
		{"example.com:8080", "no port"},
		{"https://example.com", "no port, no scheme"},
		{"-a.com", "start or end"},
		{"a..com", "labels"},
		{strings.Repeat("a", 64) + ".com", "labels"},
		{strings.Repeat("a.", 127) + "com", "253"},
		{"ex ample.com", "may contain only"},
		{"exämple.com", "may contain only"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := ValidateDomain(tc.in)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("ValidateDomain(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInstanceValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	in := &Instance{Name: "", PrimaryDomain: "bad domain", AdditionalDomains: []string{"ok.example", "ok.example", "x:1"}, State: "deleted"}
	err := in.Validate()
	var e *Error
	if !errors.As(err, &e) || e.Code != Invalid {
		t.Fatalf("Validate = %v, want Invalid", err)
	}
	for _, want := range []string{"name:", "primary_domain:", "listed twice", `"x:1"`, "state:"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q lacks %q", e.Message, want)
		}
	}
	if e.Field != "name" {
		t.Errorf("Field = %q, want the first problem's field", e.Field)
	}
	good := &Instance{Name: " Acme ", PrimaryDomain: "Acme.Example.", AdditionalDomains: []string{"LOGIN.acme.example"}, State: InstanceActive}
	good.Normalize()
	if err := good.Validate(); err != nil || good.PrimaryDomain != "acme.example" || good.AdditionalDomains[0] != "login.acme.example" || good.Name != "Acme" {
		t.Fatalf("normalized %+v: %v", good, err)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	base := Errorf(NotFound, "user %q not found", "x")
	wrapped := fmt.Errorf("lookup: %w", base)
	if ErrorCode(wrapped) != NotFound || !IsCode(wrapped, NotFound) {
		t.Fatalf("code of wrapped = %q", ErrorCode(wrapped))
	}
	if ErrorCode(errors.New("plain")) != Internal || ErrorCode(nil) != "" {
		t.Fatal("plain errors must be Internal, nil must have no code")
	}
	var fe FieldErrors
	if fe.Err() != nil {
		t.Fatal("empty FieldErrors is not nil")
	}
	fe.Add("a", "bad %d", 1)
	if e := fe.Err().(*Error); e.Field != "a" || e.Message != "bad 1" {
		t.Fatalf("single = %+v", e)
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := newIDAt(time.UnixMilli(int64(1_700_000_000_000 + i)))
		if !re.MatchString(id) {
			t.Fatalf("%q is not a UUIDv7", id)
		}
		if seen[id] || id <= prev {
			t.Fatalf("%q duplicate or not increasing after %q", id, prev)
		}
		seen[id], prev = true, id
	}
}
