package bootstrap

import (
	"strings"
	"testing"
	"time"
)

func TestExampleFileIsValid(t *testing.T) {
	t.Parallel()
	f, err := Load("../../examples/init.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(f, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestParseIsStrict(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown key":   "instances:\n  - name: A\n    domian: a.example\n",
		"wrong type":    "instances: yes\n",
		"two documents": "instances: []\n---\ninstances: []\n",
		"empty":         "",
		"bad duration":  "instances:\n  - organizations:\n      - projects:\n          - applications:\n              - access-token-lifetime: soon\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); err == nil {
				t.Fatal("parsed")
			}
		})
	}
}

func TestValidateNamesEveryPath(t *testing.T) {
	t.Parallel()
	doc := `
instances:
  - name: A
    domain: a.example
    system: true
    members:
      - user: x
        roles: [ORG_OWNER]
    organizations:
      - name: Org
        users:
          - login-name: "has space"
            email: not-an-email
          - login-name: m
            type: machine
            email: m@x.example
            client-secret: short
            personal-access-tokens:
              - token: short
          - login-name: M
            type: robot
        projects:
          - name: P
            roles: [{key: "bad key"}, {key: ok}, {key: ok}]
            applications:
              - name: w
                type: web
                redirect-uris: ["http://evil.example/cb#frag"]
            grants:
              - organization: ""
                roles: [missing]
        user-grants:
          - user: m
            project: P
            roles: [nope]
  - name: B
    domain: a.example
    system: true
`
	f, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(f, time.Now())
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("Validate = %v", err)
	}
	msg := ve.Error()
	for _, want := range []string{
		"instances[0].members[0]: roles: \"ORG_OWNER\" is not a role for a instance membership",
		"instances[0].organizations[0].users[0]:",
		"email",
		"instances[0].organizations[0].users[1]: email, password, given-name and family-name are for human users",
		"instances[0].organizations[0].users[1]: client-secret: must have at least 32 characters",
		"instances[0].organizations[0].users[1].personal-access-tokens[0]: token: must have at least 32 characters",
		"instances[0].organizations[0].users[1].personal-access-tokens[0]: expires-at: required",
		"instances[0].organizations[0].users[2]: type: must be human or machine",
		"instances[0].organizations[0].projects[0].roles[0]:",
		"instances[0].organizations[0].projects[0].roles[2]: role \"ok\" is declared twice",
		"instances[0].organizations[0].projects[0].applications[0]:",
		"client-id: required",
		"instances[0].organizations[0].projects[0].grants[0]: organization:",
		"instances[0].organizations[0].projects[0].grants[0]: roles: the project declares no role \"missing\"",
		"instances[0].organizations[0].user-grants[0]: roles: project \"P\" declares no role \"nope\"",
		"instances[1]: domain \"a.example\" is declared twice",
		"instances: at most one instance may be the system instance",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
}
