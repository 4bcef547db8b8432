package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// AuditEventAppend implements store.Queries.
func (q *queries) AuditEventAppend(ctx context.Context, p *store.AuditEventAppendParams) (*iam.AuditEvent, error) {
	payload := p.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	ev := &iam.AuditEvent{
		InstanceID: p.InstanceID, Actor: p.Actor, AggregateType: p.AggregateType,
		AggregateID: p.AggregateID, EventType: p.EventType, Payload: payload,
		CreatedAt: p.Now.UTC().Truncate(1000),
	}
	// One statement: atomic by itself outside a transaction.
	err := q.db.QueryRow(ctx, `INSERT INTO audit_events
		(instance_id, actor, aggregate_type, aggregate_id, event_type, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id`,
		ev.InstanceID, ev.Actor, ev.AggregateType, ev.AggregateID, ev.EventType, string(payload), p.Now,
	).Scan(&ev.ID)
	if err != nil {
		return nil, fmt.Errorf("postgres: append audit event: %w", mapErr(err))
	}
	return ev, nil
}

// AuditEventList implements store.Queries.
func (q *queries) AuditEventList(ctx context.Context, p *store.AuditEventListParams) ([]*iam.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	add("instance_id = ?", p.InstanceID)
	if p.AggregateType != "" {
		add("aggregate_type = ?", p.AggregateType)
	}
	if p.AggregateID != "" {
		add("aggregate_id = ?", p.AggregateID)
	}
	if p.Actor != "" {
		add("actor = ?", p.Actor)
	}
	if p.EventType != "" {
		add("event_type = ?", p.EventType)
	}
	if !p.From.IsZero() {
		add("created_at >= ?", p.From)
	}
	if !p.To.IsZero() {
		add("created_at < ?", p.To)
	}
	order := "ASC"
	if p.Descending {
		order = "DESC"
		if p.AfterID > 0 {
			add("id < ?", p.AfterID)
		}
	} else if p.AfterID > 0 {
		add("id > ?", p.AfterID)
	}
	args = append(args, store.ClampLimit(p.Limit))
	rows, err := q.db.Query(ctx, `SELECT id, instance_id, actor, aggregate_type, aggregate_id, event_type, payload::text, created_at
		FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY id `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.AuditEvent, error) {
		var ev iam.AuditEvent
		var payload string
		if err := r.Scan(&ev.ID, &ev.InstanceID, &ev.Actor, &ev.AggregateType, &ev.AggregateID, &ev.EventType, &payload, &ev.CreatedAt); err != nil {
			return nil, err
		}
		ev.Payload, ev.CreatedAt = []byte(payload), ev.CreatedAt.UTC()
		return &ev, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", mapErr(err))
	}
	return out, nil
}
