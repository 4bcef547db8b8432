package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Options configure a Service.
type Options struct {
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Cache, if Enabled, caches GetEffective (cache "policies"), invalidated
	// through Cache.Bus on store.TopicPolicy.
	Cache cache.Config
}

// Service reads and changes policies.
type Service struct {
	store store.Store
	now   func() time.Time
	// cache holds effective policies by (instance, organization); nil: no
	// cache. Values are never handed out, only clones.
	cache *cache.Cache[cacheKey, *iam.Policies]
}

type cacheKey struct{ instanceID, orgID string }

// New returns a Service on s.
func New(s store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	svc := &Service{store: s, now: o.Now}
	if c := cache.NewAttached[cacheKey, *iam.Policies]("policies", o.Cache); c != nil {
		svc.cache = c
		o.Cache.Bus.Handle(store.TopicPolicy, func(instanceID string) {
			if instanceID == "" {
				c.Flush()
				return
			}
			c.DeleteFunc(func(k cacheKey, _ *iam.Policies) bool { return k.instanceID == instanceID })
		})
	}
	return svc
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// GetEffective returns the policies that apply to the organization orgID of
// the instance (to the instance as a whole if orgID is ""): of each kind
// the organization's override, else the instance's policy, else the
// default; Source and Version of each say which. It takes one database
// round trip, none when cached (see Options.Cache). An organization that
// does not exist has no overrides: the instance's policies apply. The
// caller owns the result.
//
// Entries of an organization that is deleted stay cached until the
// instance's next policy change or the cache TTL; they are never read
// again for a deleted organization's users, who cannot log in.
func (s *Service) GetEffective(ctx context.Context, instanceID, orgID string) (*iam.Policies, error) {
	ps, err := s.cache.GetOrLoad(cacheKey{instanceID, orgID}, func() (*iam.Policies, error) {
		rows, err := s.store.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: instanceID, OrgID: orgID})
		if err != nil {
			return nil, err
		}
		return effective(rows)
	})
	if err != nil {
		return nil, store.DomainError(err, "policies")
	}
	return ps.Clone(), nil
}

// Get returns what GetEffective does, read from the database (never the
// cache), for the admin API: NotFound (field org_id) if orgID names no
// organization of the instance.
func (s *Service) Get(ctx context.Context, instanceID, orgID string) (*iam.Policies, error) {
	rows, err := listAt(ctx, s.store, instanceID, orgID)
	if err != nil {
		return nil, store.DomainError(err, "policies")
	}
	out, err := effective(rows)
	if err != nil {
		return nil, store.DomainError(err, "policies")
	}
	return out, nil
}

// listAt checks that orgID (if set) is an organization of the instance and
// returns the rows that can apply to it.
func listAt(ctx context.Context, tx store.Queries, instanceID, orgID string) ([]*store.Policy, error) {
	if orgID != "" {
		if _, err := tx.OrgGetByID(ctx, &store.OrgGetByIDParams{InstanceID: instanceID, ID: orgID}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &iam.Error{Code: iam.NotFound, Field: "org_id", Message: "organization not found", Err: err}
			}
			return nil, err
		}
	}
	return tx.PolicyListEffective(ctx, &store.PolicyListEffectiveParams{InstanceID: instanceID, OrgID: orgID})
}

// effective lays the rows of PolicyListEffective over the defaults: the
// instance's rows first, then the organization's overrides of the kinds
// that may be overridden.
func effective(rows []*store.Policy) (*iam.Policies, error) {
	ps := iam.DefaultPolicies()
	for _, orgLevel := range []bool{false, true} {
		for _, r := range rows {
			if (r.OrgID != "") != orgLevel || orgLevel && !r.Kind.OrgOverridable() {
				continue
			}
			if err := decode(ps, r.Kind, r.Body, source(r.OrgID), r.Version); err != nil {
				return nil, err
			}
		}
	}
	return ps, nil
}

func source(orgID string) iam.PolicySource {
	if orgID != "" {
		return iam.SourceOrg
	}
	return iam.SourceInstance
}

// SetLogin stores p as the login policy of the organization orgID (its
// override) or, if orgID is "", of the instance, with its
// "policy.login.changed" event. p.Version is the version of the policy
// stored at that level that the caller read, 0 if none is (Conflict
// otherwise). It returns the policy as stored. Invalid if p breaks a rule
// of iam.LoginPolicy.Validate; NotFound if the organization does not
// exist.
func (s *Service) SetLogin(ctx context.Context, actor, instanceID, orgID string, p *iam.LoginPolicy) (*iam.LoginPolicy, error) {
	c := p.Clone()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ps, err := s.set(ctx, actor, instanceID, orgID, c, c.Version)
	if err != nil {
		return nil, err
	}
	return ps.Login, nil
}

// SetPassword stores p as the password policy of the organization orgID
// or of the instance, like SetLogin.
func (s *Service) SetPassword(ctx context.Context, actor, instanceID, orgID string, p *iam.PasswordPolicy) (*iam.PasswordPolicy, error) {
	c := *p
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ps, err := s.set(ctx, actor, instanceID, orgID, &c, c.Version)
	if err != nil {
		return nil, err
	}
	return ps.Password, nil
}

// SetLockout stores p as the lockout policy of the organization orgID or
// of the instance, like SetLogin.
func (s *Service) SetLockout(ctx context.Context, actor, instanceID, orgID string, p *iam.LockoutPolicy) (*iam.LockoutPolicy, error) {
	c := *p
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ps, err := s.set(ctx, actor, instanceID, orgID, &c, c.Version)
	if err != nil {
		return nil, err
	}
	return ps.Lockout, nil
}

// SetBranding stores b (normalized) as the instance's branding, like
// SetLogin; branding has no organization overrides.
func (s *Service) SetBranding(ctx context.Context, actor, instanceID string, b *iam.Branding) (*iam.Branding, error) {
	c := *b
	c.Normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ps, err := s.set(ctx, actor, instanceID, "", &c, c.Version)
	if err != nil {
		return nil, err
	}
	return ps.Branding, nil
}

// set stores a validated policy at the level orgID and returns the
// policies holding it as stored (only its kind is filled).
func (s *Service) set(ctx context.Context, actor, instanceID, orgID string, v any, version int64) (*iam.Policies, error) {
	kind, body, err := encode(v)
	if err != nil {
		return nil, err
	}
	if err := checkLevel(kind, orgID); err != nil {
		return nil, err
	}
	var stored *store.Policy
	err = s.store.WithTx(ctx, func(tx store.Queries) error {
		rows, err := listAt(ctx, tx, instanceID, orgID)
		if err != nil {
			return err
		}
		before := rowAt(rows, kind, orgID)
		switch {
		case before == nil && version != 0, before != nil && before.Version != version:
			return store.ErrConflict
		case before != nil && sameBody(before.Body, body):
			stored = before
			return nil
		}
		now := s.clock()
		stored, err = tx.PolicyPut(ctx, &store.PolicyPutParams{InstanceID: instanceID, OrgID: orgID, Kind: kind, Body: body, Version: version, Now: now})
		if err != nil {
			return err
		}
		payload := map[string]any{"kind": kind, "before": nil, "after": json.RawMessage(stored.Body), "version": stored.Version}
		if before != nil {
			payload["before"] = json.RawMessage(before.Body)
		}
		return s.changed(ctx, tx, actor, instanceID, orgID, iam.PolicyEventType(kind, "changed"), payload, now)
	})
	if err != nil {
		return nil, store.DomainError(err, string(kind)+" policy")
	}
	ps := &iam.Policies{}
	if err := decode(ps, kind, stored.Body, source(orgID), stored.Version); err != nil {
		return nil, store.DomainError(err, "policy")
	}
	return ps, nil
}

// Reset deletes the policy of kind stored for the organization orgID (its
// override) or, if orgID is "", for the instance, at version, with its
// "policy.<kind>.reset" event: the organization falls back to the
// instance's policy, the instance to the default. It returns the effective
// policies of the level afterwards. NotFound if the level has no policy of
// that kind (or the organization does not exist), Conflict if its version
// differs.
func (s *Service) Reset(ctx context.Context, actor, instanceID, orgID string, kind iam.PolicyKind, version int64) (*iam.Policies, error) {
	if !kind.Valid() {
		return nil, &iam.Error{Code: iam.Invalid, Field: "kind", Message: fmt.Sprintf("unknown policy kind %q", kind)}
	}
	if err := checkLevel(kind, orgID); err != nil {
		return nil, err
	}
	var out *iam.Policies
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		rows, err := listAt(ctx, tx, instanceID, orgID)
		if err != nil {
			return err
		}
		before := rowAt(rows, kind, orgID)
		if before == nil {
			level := "the instance"
			if orgID != "" {
				level = "the organization"
			}
			return &iam.Error{Code: iam.NotFound, Message: fmt.Sprintf("%s has no %s policy of its own to reset", level, kind)}
		}
		if before.Version != version {
			return store.ErrConflict
		}
		if err := tx.PolicyDelete(ctx, &store.PolicyDeleteParams{InstanceID: instanceID, OrgID: orgID, Kind: kind, Version: version}); err != nil {
			return err
		}
		payload := map[string]any{"kind": kind, "before": json.RawMessage(before.Body), "version": before.Version}
		if err := s.changed(ctx, tx, actor, instanceID, orgID, iam.PolicyEventType(kind, "reset"), payload, s.clock()); err != nil {
			return err
		}
		rest := make([]*store.Policy, 0, len(rows))
		for _, r := range rows {
			if r != before {
				rest = append(rest, r)
			}
		}
		out, err = effective(rest)
		return err
	})
	if err != nil {
		return nil, store.DomainError(err, string(kind)+" policy")
	}
	return out, nil
}

// checkLevel refuses organization overrides of kinds that have none.
func checkLevel(kind iam.PolicyKind, orgID string) error {
	if orgID != "" && !kind.OrgOverridable() {
		return &iam.Error{Code: iam.Invalid, Field: "org_id", Message: fmt.Sprintf("the %s policy is set per instance only; organizations cannot override it", kind)}
	}
	return nil
}

// rowAt returns the row of kind stored at the level orgID, nil if none.
func rowAt(rows []*store.Policy, kind iam.PolicyKind, orgID string) *store.Policy {
	for _, r := range rows {
		if r.Kind == kind && r.OrgID == orgID {
			return r
		}
	}
	return nil
}

// sameBody reports whether two stored bodies hold the same JSON value.
func sameBody(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// changed invalidates the instance's cached policies on every node once tx
// commits and appends the audit event: aggregate "policy", ID the
// organization's or, at the instance level, the instance's.
func (s *Service) changed(ctx context.Context, tx store.Queries, actor, instanceID, orgID, eventType string, payload map[string]any, now time.Time) error {
	if err := tx.CacheInvalidate(ctx, store.TopicPolicy, instanceID); err != nil {
		return err
	}
	aggID := instanceID
	if orgID != "" {
		aggID = orgID
		payload["org_id"] = orgID
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: instanceID, Actor: actor, AggregateType: iam.AggregatePolicy, AggregateID: aggID,
		EventType: eventType, Payload: body, Now: now,
	})
	return err
}
