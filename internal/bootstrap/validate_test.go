package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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

// keyPEM returns a new public key in PEM on curve c (nil: RSA-2048),
// indented for a YAML block scalar.
func keyPEM(t *testing.T, c elliptic.Curve) string {
	t.Helper()
	var pub any
	if c == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	} else {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// yamlBlock renders s as a literal block scalar indented by n spaces.
func yamlBlock(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return "|\n" + pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

func TestValidateKeys(t *testing.T) {
	t.Parallel()
	p256, p384, rsaKey := keyPEM(t, elliptic.P256()), keyPEM(t, elliptic.P384()), keyPEM(t, nil)
	var many strings.Builder
	for range 11 {
		many.WriteString("                  - public-key: " + yamlBlock(keyPEM(t, elliptic.P256()), 22) + "\n")
	}
	doc := `
instances:
  - name: A
    domain: a.example
    organizations:
      - name: Org
        users:
          - login-name: human
            email: human@a.example
            machine-keys:
              - public-key: ` + yamlBlock(p256, 18) + `
                expires-at: 2030-01-01T00:00:00Z
          - login-name: robot
            type: machine
            name: Robot
            machine-keys:
              - public-key: ` + yamlBlock(p384, 18) + `
                expires-at: 2030-01-01T00:00:00Z
              - public-key: ` + yamlBlock(p256, 18) + `
              - public-key: "not a key"
                expires-at: 2020-01-01T00:00:00Z
              - public-key: "` + strings.ReplaceAll(p256, "\n", `\r\n`) + `"
                expires-at: 2030-01-01T00:00:00Z
        projects:
          - name: P
            applications:
              - name: spa
                type: spa
                client-id: spa
                redirect-uris: ["https://spa.example/"]
                keys:
                  - public-key: ` + yamlBlock(p256, 22) + `
              - name: worker
                type: api
                client-id: worker
                auth-method: private_key_jwt
                keys:
                  - public-key: ` + yamlBlock(rsaKey, 22) + `
                  - public-key: ` + yamlBlock(rsaKey, 22) + `
                    expires-at: 2020-01-01T00:00:00Z
                  - public-key: ` + yamlBlock("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----", 22) + `
              - name: crowded
                type: web
                client-id: crowded
                redirect-uris: ["https://crowded.example/cb"]
                keys:
` + many.String()
	f, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(f, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("Validate = %v", err)
	}
	msg := ve.Error()
	const org = "instances[0].organizations[0]."
	for _, want := range []string{
		org + "users[0]: machine-keys are for machine users",
		org + "users[1].machine-keys[0]: public-key: ECDSA keys must use the P-256 curve (ES256)",
		org + "users[1].machine-keys[1]: expires-at: required",
		org + "users[1].machine-keys[2]: expires-at: 2020-01-01T00:00:00Z is in the past",
		org + "users[1].machine-keys[2]: public-key: is not PEM",
		org + "users[1].machine-keys[3]: public-key: the same key is declared twice (first at " + org + "users[1].machine-keys[1])",
		org + "projects[0].applications[0]: keys: spa applications are public clients and have no keys",
		org + "projects[0].applications[1].keys[1]: expires-at: 2020-01-01T00:00:00Z is in the past",
		org + "projects[0].applications[1].keys[1]: public-key: the same key is declared twice (first at " + org + "projects[0].applications[1].keys[0])",
		org + "projects[0].applications[1].keys[2]: public-key: is a RSA PRIVATE KEY; want a PUBLIC KEY (PKIX) block",
		org + "projects[0].applications[2]: keys: at most 10 keys per application",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "users[1].machine-keys[0]: expires-at") || strings.Contains(msg, "applications[1].keys[0]: ") {
		t.Errorf("a valid key was reported:\n%s", msg)
	}
}
