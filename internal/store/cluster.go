package store

import (
	"context"
	"strings"
	"sync"
	"time"
)

// ClusterQueries store the node registry and publish cache invalidations.
type ClusterQueries interface {
	// NodeHeartbeat records that a node is alive: it inserts the node's row
	// or replaces every field of it. Safe to retry.
	NodeHeartbeat(ctx context.Context, p *NodeHeartbeatParams) error
	// NodeList returns the nodes whose last heartbeat is at or after
	// p.LiveSince (every node if it is zero), ordered by start time and ID.
	NodeList(ctx context.Context, p *NodeListParams) ([]*Node, error)
	// NodeDelete removes a node's row (a node leaving gracefully). A missing
	// row is not an error.
	NodeDelete(ctx context.Context, p *NodeDeleteParams) error
	// NodeDeleteStale removes the nodes whose last heartbeat is before
	// p.Before and returns how many it removed.
	NodeDeleteStale(ctx context.Context, p *NodeDeleteStaleParams) (int64, error)
	// ClusterLeader returns the ID of the node currently elected leader of
	// the background job system (River's river_leader table; the River
	// client ID is the node ID), or "" with a nil error if there is none:
	// no unexpired leader row, or River's tables are not migrated yet.
	ClusterLeader(ctx context.Context) (string, error)

	// CacheInvalidate publishes that cached data under topic and key
	// changed: every node's in-process caches drop it. Call it in the
	// transaction that makes the change: subscribers (see Invalidations)
	// receive it once the transaction commits, and never if it rolls back.
	// Outside a transaction it is published at once. An empty key
	// invalidates the whole topic. Topics are the Topic* constants; a
	// topic must not contain ':'.
	CacheInvalidate(ctx context.Context, topic, key string) error
}

// Invalidations deliver the cache invalidations published through
// CacheInvalidate.
type Invalidations interface {
	// ListenInvalidations runs one subscription: it subscribes, calls ready
	// (nil allowed), then calls deliver for every invalidation committed by
	// any node (this one included) until ctx ends or the subscription
	// breaks, and returns ctx.Err() or the error that broke it.
	// Invalidations published while no subscription is established are
	// lost: a caller must treat every cached entry as stale after a broken
	// subscription and before ready is called. deliver runs on the
	// subscription's goroutine or, for this handle's own commits, on the
	// committing goroutine before WithTx returns, so that a node reads its
	// own writes; it must be quick and must not call the store.
	//
	// On PostgreSQL the subscription is LISTEN on a dedicated connection
	// (application_name suffixed with "-listener") and reaches every node;
	// on SQLite (one node) it reaches this handle's subscribers only.
	ListenInvalidations(ctx context.Context, ready func(), deliver func(topic, key string)) error
}

// Cache invalidation topics: what a key names under each topic. The
// services that cache and the services that change the data share them.
const (
	// TopicInstanceDomain: key is a normalized domain; the instance
	// serving it changed (or no longer serves it).
	TopicInstanceDomain = "instance.domain"
	// TopicAppClient: key is AppClientKey(instanceID, clientID); the
	// application changed or was deleted.
	TopicAppClient = "app.client"
	// TopicAppInstance: key is an instance ID; any application of the
	// instance may have changed or been deleted (cascading deletes of
	// projects and organizations).
	TopicAppInstance = "app.instance"
	// TopicSigningKeys: key is an instance ID; its token signing public
	// keys changed. Reserved for the OIDC provider.
	TopicSigningKeys = "signing_keys"
)

// AppClientKey is the TopicAppClient key of an application. Client IDs
// contain no '/', so the key splits at its last '/'.
func AppClientKey(instanceID, clientID string) string { return instanceID + "/" + clientID }

// SplitAppClientKey splits an AppClientKey; ok is false if key is not one.
func SplitAppClientKey(key string) (instanceID, clientID string, ok bool) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

// Node is a row of the node registry.
type Node struct {
	// ID names the node; it is also its River client ID.
	ID string
	// Address is where operators and other nodes reach the node.
	Address  string
	Hostname string
	PID      int64
	// Version is the Rampart version the node runs.
	Version string
	// SchemaVersion is the highest migration applied to the database as
	// the node last read it.
	SchemaVersion int64
	StartedAt     time.Time
	LastSeen      time.Time
	// Ready is the node's readiness at its last heartbeat.
	Ready bool
}

// NodeHeartbeatParams is a heartbeat: the node's row with LastSeen set.
type NodeHeartbeatParams struct {
	Node *Node
}

// NodeListParams select nodes by their last heartbeat.
type NodeListParams struct {
	LiveSince time.Time
}

// NodeDeleteParams name a node.
type NodeDeleteParams struct {
	ID string
}

// NodeDeleteStaleParams select nodes whose last heartbeat is before Before.
type NodeDeleteStaleParams struct {
	Before time.Time
}

// Invalidation is one published (topic, key) pair.
type Invalidation struct {
	Topic, Key string
}

// Subscribers fans invalidations out to the subscribers of one store
// handle. Backends use it for ListenInvalidations and for delivering their
// own commits; the zero value is ready to use.
type Subscribers struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(topic, key string)
}

// Add registers fn and returns a function that removes it.
func (s *Subscribers) Add(fn func(topic, key string)) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[int]func(topic, key string){}
	}
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// Deliver calls every subscriber with each invalidation, in order.
func (s *Subscribers) Deliver(invs ...Invalidation) {
	if len(invs) == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subs {
		for _, inv := range invs {
			fn(inv.Topic, inv.Key)
		}
	}
}
