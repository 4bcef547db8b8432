package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is the declarative bootstrap document.
type File struct {
	Instances []Instance `yaml:"instances"`
}

// Instance declares an instance, found by its primary domain.
type Instance struct {
	Name              string   `yaml:"name"`
	Domain            string   `yaml:"domain"`
	AdditionalDomains []string `yaml:"additional-domains"`
	// System marks the system instance, whose owners manage all instances.
	// When no instance is marked and none exists yet, the first one is.
	System        bool           `yaml:"system"`
	Organizations []Organization `yaml:"organizations"`
	Members       []Member       `yaml:"members"`
	// Policies are set once: when the instance has none of a kind yet.
	Policies *Policies `yaml:"policies"`
}

// Organization declares an organization, found by name in its instance.
type Organization struct {
	Name       string      `yaml:"name"`
	Users      []User      `yaml:"users"`
	Projects   []Project   `yaml:"projects"`
	UserGrants []UserGrant `yaml:"user-grants"`
	Members    []Member    `yaml:"members"`
}

// User declares a human or machine user, found by login name.
type User struct {
	LoginName string `yaml:"login-name"`
	// Type is "human" (default) or "machine".
	Type string `yaml:"type"`

	Email                  string `yaml:"email"`
	EmailVerified          bool   `yaml:"email-verified"`
	GivenName              string `yaml:"given-name"`
	FamilyName             string `yaml:"family-name"`
	PreferredLanguage      string `yaml:"preferred-language"`
	Password               string `yaml:"password"`
	PasswordHash           string `yaml:"password-hash"`
	PasswordChangeRequired bool   `yaml:"password-change-required"`

	Name                 string                `yaml:"name"`
	Description          string                `yaml:"description"`
	ClientSecret         string                `yaml:"client-secret"`
	PersonalAccessTokens []PersonalAccessToken `yaml:"personal-access-tokens"`
	// MachineKeys are public keys for the JWT profile (RFC 7523) of a
	// machine user: RSA or ECDSA P-256, expires-at required.
	MachineKeys []PublicKey `yaml:"machine-keys"`
}

// PublicKey declares a public key, found by its content: two PEMs of the
// same key match whatever their line breaks and surrounding white space.
type PublicKey struct {
	// PublicKey is a PKIX PEM block ("-----BEGIN PUBLIC KEY-----").
	PublicKey string `yaml:"public-key"`
	// ExpiresAt is when the key stops working; zero (absent) for
	// application keys that do not expire.
	ExpiresAt time.Time `yaml:"expires-at"`
}

// PersonalAccessToken declares a fixed token.
type PersonalAccessToken struct {
	Token     string    `yaml:"token"`
	ExpiresAt time.Time `yaml:"expires-at"`
}

// Project declares a project, found by name in its organization.
type Project struct {
	Name          string         `yaml:"name"`
	RoleAssertion bool           `yaml:"role-assertion"`
	Roles         []Role         `yaml:"roles"`
	Applications  []Application  `yaml:"applications"`
	Grants        []ProjectGrant `yaml:"grants"`
	Members       []Member       `yaml:"members"`
}

// Role declares a project role, found by key.
type Role struct {
	Key         string `yaml:"key"`
	DisplayName string `yaml:"display-name"`
	Group       string `yaml:"group"`
}

// Application declares an OIDC client, found by client ID.
type Application struct {
	Name                   string        `yaml:"name"`
	Type                   string        `yaml:"type"`
	ClientID               string        `yaml:"client-id"`
	ClientSecret           string        `yaml:"client-secret"`
	RedirectURIs           []string      `yaml:"redirect-uris"`
	PostLogoutRedirectURIs []string      `yaml:"post-logout-redirect-uris"`
	GrantTypes             []string      `yaml:"grant-types"`
	ResponseTypes          []string      `yaml:"response-types"`
	AuthMethod             string        `yaml:"auth-method"`
	AccessTokenFormat      string        `yaml:"access-token-format"`
	AccessTokenLifetime    time.Duration `yaml:"access-token-lifetime"`
	IDTokenLifetime        time.Duration `yaml:"id-token-lifetime"`
	RefreshTokenLifetime   time.Duration `yaml:"refresh-token-lifetime"`
	PKCERequired           bool          `yaml:"pkce-required"`
	ConsentRequired        bool          `yaml:"consent-required"`
	// Keys are the public keys of a confidential application for auth
	// method private_key_jwt (RFC 7523 §2.2); expires-at is optional.
	Keys []PublicKey `yaml:"keys"`
}

// ProjectGrant grants the project to another organization of the instance.
type ProjectGrant struct {
	Organization string   `yaml:"organization"`
	Roles        []string `yaml:"roles"`
}

// UserGrant grants a user of the organization roles of a project owned by
// or granted to the organization.
type UserGrant struct {
	User    string   `yaml:"user"`
	Project string   `yaml:"project"`
	Roles   []string `yaml:"roles"`
}

// Member gives a user (by login name) administrative roles on the enclosing
// instance, organization or project.
type Member struct {
	User  string   `yaml:"user"`
	Roles []string `yaml:"roles"`
}

// Load reads and strictly decodes a bootstrap file: unknown keys, wrong
// types and trailing documents are errors naming the line.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("init file: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("init file %s: %w", path, err)
	}
	return f, nil
}

// Parse strictly decodes a bootstrap document.
func Parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the document is empty")
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("only one YAML document is allowed")
	}
	return &f, nil
}
