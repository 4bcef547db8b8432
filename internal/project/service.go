package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Options configure a Service.
type Options struct {
	// Secrets hashes client secrets. Required for applications with a
	// client secret.
	Secrets *crypto.SecretHasher
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Cache, if Enabled, caches GetApplicationByClientID (cache
	// "app_by_client_id"), invalidated through Cache.Bus on
	// store.TopicAppClient and store.TopicAppInstance.
	Cache cache.Config
}

// Service manages projects, roles, applications, project grants and user
// grants.
type Service struct {
	store   store.Store
	secrets *crypto.SecretHasher
	now     func() time.Time
	apps    *cache.Cache[appKey, *iam.Application] // nil: no cache
	// audiences caches ProjectAudience by (instance, project ID); nil: no
	// cache.
	audiences *cache.Cache[appKey, *store.ProjectAudience]
}

// appKey is the key of the application cache.
type appKey struct{ instanceID, clientID string }

// New returns a Service on s.
func New(s store.Store, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	svc := &Service{store: s, secrets: o.Secrets, now: o.Now}
	if c := cache.NewAttached[appKey, *store.ProjectAudience]("project_audience", o.Cache); c != nil {
		svc.audiences = c
		// Any change to an application or project of an instance drops the
		// instance's entries: such changes are rare, audiences are small.
		dropInstance := func(instanceID string) {
			c.DeleteFunc(func(k appKey, _ *store.ProjectAudience) bool { return instanceID == "" || k.instanceID == instanceID })
		}
		o.Cache.Bus.Handle(store.TopicAppClient, func(key string) {
			instanceID, _, _ := store.SplitAppClientKey(key)
			dropInstance(instanceID)
		})
		o.Cache.Bus.Handle(store.TopicAppInstance, dropInstance)
	}
	if c := cache.NewAttached[appKey, *iam.Application]("app_by_client_id", o.Cache); c != nil {
		svc.apps = c
		o.Cache.Bus.Handle(store.TopicAppClient, func(key string) {
			if instanceID, clientID, ok := store.SplitAppClientKey(key); ok {
				c.Delete(appKey{instanceID, clientID})
				return
			}
			c.Flush()
		})
		o.Cache.Bus.Handle(store.TopicAppInstance, func(instanceID string) {
			if instanceID == "" {
				c.Flush()
				return
			}
			c.DeleteFunc(func(k appKey, _ *iam.Application) bool { return k.instanceID == instanceID })
		})
	}
	return svc
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// required reports every empty value of pairs (field, value) as Invalid.
func required(pairs ...string) error {
	var fe iam.FieldErrors
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			fe.Add(pairs[i], "required")
		}
	}
	return fe.Err()
}

// MaxFixedIDLength bounds IDs given on create (bootstrap).
const MaxFixedIDLength = 200

// checkFixedID validates an ID chosen by the caller instead of generated.
func checkFixedID(field, id string) error {
	if len(id) > MaxFixedIDLength || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return &iam.Error{Code: iam.Invalid, Field: field, Message: fmt.Sprintf("a fixed ID has at most %d characters and no spaces", MaxFixedIDLength)}
	}
	return nil
}

// notFound turns a store.ErrNotFound of a referenced object into a NotFound
// error naming the request field.
func notFound(err error, field, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &iam.Error{Code: iam.NotFound, Field: field, Message: what + " not found", Err: err}
	}
	return err
}

// getProject reads the project (instance, org, id) in tx; NotFound names
// project_id.
func getProject(ctx context.Context, tx store.Queries, instanceID, orgID, id string) (*iam.Project, error) {
	p, err := tx.ProjectGetByID(ctx, &store.ProjectGetByIDParams{InstanceID: instanceID, OrgID: orgID, ID: id})
	return p, notFound(err, "project_id", "project")
}

// event appends an audit event in tx.
func event(ctx context.Context, tx store.Queries, actor, instanceID, aggType, aggID, typ string, payload any, now time.Time) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode audit payload: %w", err)
	}
	_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
		InstanceID: instanceID, Actor: actor, AggregateType: aggType, AggregateID: aggID,
		EventType: typ, Payload: body, Now: now,
	})
	return err
}
