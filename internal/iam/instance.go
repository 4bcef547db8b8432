package iam

import (
	"net"
	"strings"
	"time"
)

// InstanceState is the lifecycle state of an instance.
type InstanceState string

// Instance states.
const (
	InstanceActive   InstanceState = "active"
	InstanceInactive InstanceState = "inactive"
)

// Valid reports whether s is a known state.
func (s InstanceState) Valid() bool { return s == InstanceActive || s == InstanceInactive }

// Instance is a virtual, fully isolated IAM tenant, chosen by the request's
// Host. Domains are unique across all instances.
type Instance struct {
	ID                string
	Name              string
	PrimaryDomain     string
	AdditionalDomains []string
	State             InstanceState
	// System marks the one instance whose owners may manage all instances.
	System    bool
	CreatedAt time.Time
	ChangedAt time.Time
	// Version increases by one with every change; updates name the version
	// they read (optimistic concurrency).
	Version int64
}

// Domains returns the primary domain followed by the additional ones.
func (i *Instance) Domains() []string {
	return append([]string{i.PrimaryDomain}, i.AdditionalDomains...)
}

// MaxInstanceDomains bounds the number of additional domains of an instance.
const MaxInstanceDomains = 64

// Normalize lower-cases and trims the instance's domains and name so that
// validation and storage see one canonical form.
func (i *Instance) Normalize() {
	i.Name = strings.TrimSpace(i.Name)
	i.PrimaryDomain = NormalizeDomain(i.PrimaryDomain)
	for k, d := range i.AdditionalDomains {
		i.AdditionalDomains[k] = NormalizeDomain(d)
	}
}

// Validate reports every problem of the instance at once.
func (i *Instance) Validate() error {
	var fe FieldErrors
	if i.Name == "" {
		fe.Add("name", "must not be empty")
	} else if len(i.Name) > 200 {
		fe.Add("name", "must be at most 200 characters")
	}
	if err := ValidateDomain(i.PrimaryDomain); err != "" {
		fe.Add("primary_domain", "%s", err)
	}
	if len(i.AdditionalDomains) > MaxInstanceDomains {
		fe.Add("additional_domains", "at most %d domains", MaxInstanceDomains)
	}
	seen := map[string]bool{i.PrimaryDomain: true}
	for _, d := range i.AdditionalDomains {
		if err := ValidateDomain(d); err != "" {
			fe.Add("additional_domains", "%q: %s", d, err)
			continue
		}
		if seen[d] {
			fe.Add("additional_domains", "%q is listed twice", d)
		}
		seen[d] = true
	}
	if !i.State.Valid() {
		fe.Add("state", "must be %q or %q", InstanceActive, InstanceInactive)
	}
	return fe.Err()
}

// NormalizeDomain returns the canonical form of a host name: trimmed,
// lower-case, without a trailing dot.
func NormalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// ValidateDomain returns "" when d is a syntactically valid host name or IP
// literal (without port), else a user-safe description of the problem.
func ValidateDomain(d string) string {
	if d == "" {
		return "must not be empty"
	}
	if len(d) > 253 {
		return "must be at most 253 characters"
	}
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		if ip := net.ParseIP(d[1 : len(d)-1]); ip != nil && ip.To4() == nil {
			return ""
		}
		return "is not a valid IPv6 literal"
	}
	if net.ParseIP(d) != nil {
		if strings.Contains(d, ":") {
			return "IPv6 addresses must be written in brackets, like [::1]"
		}
		return ""
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return "must be a host name of dot-separated labels of 1 to 63 characters"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "labels must not start or end with '-'"
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "may contain only letters, digits, '-' and '.' (no port, no scheme)"
			}
		}
	}
	return ""
}
