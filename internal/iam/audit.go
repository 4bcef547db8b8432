package iam

import (
	"encoding/json"
	"time"
)

// SystemActor is the actor of changes made by Rampart itself (bootstrap,
// migrations, background jobs) rather than by a user.
const SystemActor = "system"

// AuditEvent records one change. Events are append-only: they are never
// updated or deleted except by the retention job.
type AuditEvent struct {
	// ID is assigned by the store: increasing in insertion order within a
	// database, usable as a pagination cursor.
	ID            int64
	InstanceID    string
	Actor         string
	AggregateType string
	AggregateID   string
	EventType     string
	// Payload is a JSON object describing the change, secrets redacted.
	Payload   json.RawMessage
	CreatedAt time.Time
}

// Aggregate types.
const (
	AggregateInstance = "instance"
)

// Event types.
const (
	EventInstanceCreated = "instance.created"
	EventInstanceChanged = "instance.changed"
)
