package instance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Service manages instances.
type Service struct {
	store  store.Store
	now    func() time.Time
	byHost *cache.Cache[string, *iam.Instance] // nil: no cache
}

// Option configures a Service.
type Option func(*Service)

// WithCache caches GetByHost (cache "instance_by_host", keyed by domain),
// invalidated through cfg.Bus on store.TopicInstanceDomain. A cfg that is
// not Enabled caches nothing.
func WithCache(cfg cache.Config) Option {
	return func(s *Service) {
		c := cache.NewAttached[string, *iam.Instance]("instance_by_host", cfg)
		if c == nil {
			return
		}
		s.byHost = c
		cfg.Bus.Handle(store.TopicInstanceDomain, func(domain string) {
			if domain == "" {
				c.Flush()
				return
			}
			c.Delete(domain)
		})
	}
}

// New returns a Service. now is the clock (time.Now if nil).
func New(s store.Store, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	svc := &Service{store: s, now: now}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Create validates and stores a new instance, with its "instance.created"
// audit event in the same transaction. ID and State default to a new ID and
// active.
func (s *Service) Create(ctx context.Context, actor string, in *iam.Instance) (*iam.Instance, error) {
	in = clone(in)
	if in.ID == "" {
		in.ID = iam.NewID()
	}
	if in.State == "" {
		in.State = iam.InstanceActive
	}
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Instance
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		now := s.clock()
		created, err := tx.InstanceCreate(ctx, &store.InstanceCreateParams{Instance: in, Now: now})
		if err != nil {
			return err
		}
		out = created
		if err := invalidateDomains(ctx, tx, created); err != nil {
			return err
		}
		return appendEvent(ctx, tx, actor, created, iam.EventInstanceCreated, map[string]any{"after": snapshot(created)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "instance")
	}
	return out, nil
}

// Update replaces name, domains and state of the instance in.ID, provided
// in.Version is still its current version (else a Conflict error), with its
// "instance.changed" audit event (before and after) in the same transaction.
// An empty State keeps the current one. The system instance cannot be
// deactivated (FailedPrecondition): its owners manage all instances. An
// update that changes nothing stores nothing and returns the instance.
func (s *Service) Update(ctx context.Context, actor string, in *iam.Instance) (*iam.Instance, error) {
	in = clone(in)
	in.Normalize()
	keepState := in.State == ""
	if keepState {
		in.State = iam.InstanceActive // validated below once known
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *iam.Instance
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		before, err := tx.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: in.ID})
		if err != nil {
			return err
		}
		if before.Version != in.Version {
			return store.ErrConflict
		}
		if keepState {
			in.State = before.State
		}
		if before.System && in.State != iam.InstanceActive {
			return &iam.Error{Code: iam.FailedPrecondition, Field: "state", Message: "the system instance cannot be deactivated"}
		}
		if equalMutable(before, in) {
			out = before
			return nil
		}
		now := s.clock()
		after, err := tx.InstanceUpdate(ctx, &store.InstanceUpdateParams{Instance: in, Now: now})
		if err != nil {
			return err
		}
		out = after
		if err := invalidateDomains(ctx, tx, before, after); err != nil {
			return err
		}
		return appendEvent(ctx, tx, actor, after, iam.EventInstanceChanged,
			map[string]any{"before": snapshot(before), "after": snapshot(after)}, now)
	})
	if err != nil {
		return nil, store.DomainError(err, "instance")
	}
	return out, nil
}

// Get returns the instance with the given ID.
func (s *Service) Get(ctx context.Context, id string) (*iam.Instance, error) {
	in, err := s.store.InstanceGetByID(ctx, &store.InstanceGetByIDParams{ID: id})
	if err != nil {
		return nil, store.DomainError(err, "instance")
	}
	return in, nil
}

// GetByHost returns the instance that serves a request's Host header value
// (port ignored, case-insensitive). With WithCache, found instances are
// cached by domain (unknown hosts are not).
func (s *Service) GetByHost(ctx context.Context, host string) (*iam.Instance, error) {
	domain := HostDomain(host)
	in, err := s.byHost.GetOrLoad(domain, func() (*iam.Instance, error) {
		return s.store.InstanceGetByDomain(ctx, &store.InstanceGetByDomainParams{Domain: domain})
	})
	if err != nil {
		return nil, store.DomainError(err, fmt.Sprintf("instance for host %q", domain))
	}
	return clone(in), nil
}

// invalidateDomains drops every domain of the instances (before and after
// a change) from every node's GetByHost cache once tx commits.
func invalidateDomains(ctx context.Context, tx store.Queries, ins ...*iam.Instance) error {
	seen := map[string]bool{}
	for _, in := range ins {
		for _, d := range in.Domains() {
			if seen[d] {
				continue
			}
			seen[d] = true
			if err := tx.CacheInvalidate(ctx, store.TopicInstanceDomain, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// List returns up to limit instances after the cursor (an instance ID, ""
// for the first page), optionally only those in state.
func (s *Service) List(ctx context.Context, after string, limit int, state iam.InstanceState) ([]*iam.Instance, error) {
	if state != "" && !state.Valid() {
		return nil, &iam.Error{Code: iam.Invalid, Field: "state", Message: "unknown state"}
	}
	list, err := s.store.InstanceList(ctx, &store.InstanceListParams{AfterID: after, Limit: limit, State: state})
	if err != nil {
		return nil, store.DomainError(err, "instances")
	}
	return list, nil
}

// HostDomain returns the domain part of a Host header value: without port,
// lower-case, without trailing dot; IPv6 literals keep their brackets.
func HostDomain(host string) string {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		host = h
	}
	return iam.NormalizeDomain(host)
}

func clone(in *iam.Instance) *iam.Instance {
	c := *in
	c.AdditionalDomains = slices.Clone(in.AdditionalDomains)
	return &c
}

func equalMutable(a, b *iam.Instance) bool {
	return a.Name == b.Name && a.State == b.State && a.PrimaryDomain == b.PrimaryDomain &&
		slices.Equal(a.AdditionalDomains, b.AdditionalDomains)
}

func snapshot(in *iam.Instance) map[string]any {
	return map[string]any{
		"name": in.Name, "primary_domain": in.PrimaryDomain, "additional_domains": in.AdditionalDomains,
		"state": in.State, "version": in.Version,
	}
}

func appendEvent(ctx context.Context, tx store.Queries, actor string, in *iam.Instance, typ string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: in.ID, Actor: actor, AggregateType: iam.AggregateInstance, AggregateID: in.ID,
		EventType: typ, Payload: body, Now: now,
	})
	return err
}
