package iam

import (
	"strings"
	"testing"
)

func TestOrganizationValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Organization
		want []string
	}{
		{Organization{Name: "Acme", State: StateActive}, nil},
		{Organization{Name: strings.Repeat("ü", 200), State: StateInactive}, nil},
		{Organization{Name: "  ", State: StateActive}, []string{"name"}},
		{Organization{Name: strings.Repeat("a", 201), State: StateActive}, []string{"name"}},
		{Organization{Name: "\xff", State: StateActive}, []string{"name"}},
		{Organization{Name: "", State: "gone"}, []string{"name", "state"}},
	} {
		checkFields(t, tc.o.Validate(), tc.want)
	}
	o := Organization{Name: "  Acme \n"}
	o.Normalize()
	if o.Name != "Acme" {
		t.Fatalf("normalized %q", o.Name)
	}
}

func checkFields(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected %v", err)
		}
		return
	}
	e, ok := err.(*Error)
	if !ok || e.Code != Invalid || e.Field != want[0] {
		t.Fatalf("err = %v, want Invalid on %v", err, want)
	}
	for _, f := range want {
		if len(want) > 1 && !strings.Contains(e.Message, f+":") {
			t.Fatalf("message %q does not name %s", e.Message, f)
		}
	}
}

func human(login, email string) *User {
	return &User{Type: UserHuman, LoginName: login, State: UserActive, Human: &HumanProfile{Email: email}}
}

func TestUserValidate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 201)
	for name, tc := range map[string]struct {
		u    *User
		want []string
	}{
		"human":               {human("alice", "alice@example.com"), nil},
		"unicode login":       {human("zoë.ü@corp", "z@example.com"), nil},
		"200 characters":      {human(strings.Repeat("é", 200), "a@example.com"), nil},
		"machine":             {&User{Type: UserMachine, LoginName: "bot", State: UserLocked, Machine: &MachineProfile{Name: "Bot"}}, nil},
		"empty login":         {human("", "a@example.com"), []string{"login_name"}},
		"space in login":      {human("a b", "a@example.com"), []string{"login_name"}},
		"nbsp in login":       {human("a\u00a0b", "a@example.com"), []string{"login_name"}},
		"control in login":    {human("a\x7fb", "a@example.com"), []string{"login_name"}},
		"long login":          {human(long, "a@example.com"), []string{"login_name"}},
		"invalid utf8":        {human("a\xffb", "a@example.com"), []string{"login_name"}},
		"no email":            {human("a", ""), []string{"email"}},
		"display name":        {human("a", "Alice <a@example.com>"), []string{"email"}},
		"angle brackets":      {human("a", "<a@example.com>"), []string{"email"}},
		"no domain":           {human("a", "alice"), []string{"email"}},
		"two addresses":       {human("a", "a@example.com, b@example.com"), []string{"email"}},
		"long email":          {human("a", strings.Repeat("a", 250)+"@x.io"), []string{"email"}},
		"bad state":           {&User{Type: UserHuman, LoginName: "a", State: "x", Human: &HumanProfile{Email: "a@example.com"}}, []string{"state"}},
		"bad type":            {&User{Type: "robot", LoginName: "a", State: UserActive}, []string{"type"}},
		"human with machine":  {&User{Type: UserHuman, LoginName: "a", State: UserActive, Machine: &MachineProfile{}}, []string{"type"}},
		"machine without":     {&User{Type: UserMachine, LoginName: "a", State: UserActive}, []string{"type"}},
		"machine no name":     {&User{Type: UserMachine, LoginName: "a", State: UserActive, Machine: &MachineProfile{}}, []string{"name"}},
		"long description":    {&User{Type: UserMachine, LoginName: "a", State: UserActive, Machine: &MachineProfile{Name: "n", Description: strings.Repeat("d", 1001)}}, []string{"description"}},
		"every human problem": {&User{Type: UserHuman, LoginName: "a b", State: "x", Human: &HumanProfile{Email: "x", GivenName: long, FamilyName: "\x01"}}, []string{"login_name", "state", "email", "given_name", "family_name"}},
	} {
		t.Run(name, func(t *testing.T) { checkFields(t, tc.u.Validate(), tc.want) })
	}
	u := &User{LoginName: " a ", Human: &HumanProfile{Email: " a@example.com ", GivenName: " G ", PreferredLanguage: " en "}, SecretHash: []byte{1}}
	u.Normalize()
	if u.LoginName != "a" || u.Human.Email != "a@example.com" || u.Human.GivenName != "G" || u.Human.PreferredLanguage != "en" {
		t.Fatalf("normalized %+v %+v", u, u.Human)
	}
	c := u.Clone()
	c.Human.Email, c.SecretHash[0] = "changed", 2
	if u.Human.Email != "a@example.com" || u.SecretHash[0] != 1 {
		t.Fatal("Clone shares memory with the original")
	}
}
