package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// AuditEventAppend implements store.Queries.
func (q *queries) AuditEventAppend(ctx context.Context, p *store.AuditEventAppendParams) (*iam.AuditEvent, error) {
	return write(ctx, q, func(q *queries) (*iam.AuditEvent, error) {
		payload := p.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		ev := &iam.AuditEvent{
			InstanceID: p.InstanceID, Actor: p.Actor, AggregateType: p.AggregateType,
			AggregateID: p.AggregateID, EventType: p.EventType, Payload: payload,
			CreatedAt: fromMicros(micros(p.Now)),
		}
		err := q.db.QueryRowContext(ctx, `INSERT INTO audit_events
			(instance_id, actor, aggregate_type, aggregate_id, event_type, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			ev.InstanceID, ev.Actor, ev.AggregateType, ev.AggregateID, ev.EventType, string(payload), micros(p.Now),
		).Scan(&ev.ID)
		if err != nil {
			return nil, fmt.Errorf("sqlite: append audit event: %w", mapErr(err))
		}
		return ev, nil
	})
}

// AuditEventList implements store.Queries.
func (q *queries) AuditEventList(ctx context.Context, p *store.AuditEventListParams) ([]*iam.AuditEvent, error) {
	where := []string{"instance_id = ?"}
	args := []any{p.InstanceID}
	add := func(cond string, v any) {
		where, args = append(where, cond), append(args, v)
	}
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
		add("created_at >= ?", micros(p.From))
	}
	if !p.To.IsZero() {
		add("created_at < ?", micros(p.To))
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
	rows, err := q.db.QueryContext(ctx, `SELECT id, instance_id, actor, aggregate_type, aggregate_id, event_type, payload, created_at
		FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY id `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.AuditEvent
	for rows.Next() {
		var ev iam.AuditEvent
		var payload string
		var created int64
		if err := rows.Scan(&ev.ID, &ev.InstanceID, &ev.Actor, &ev.AggregateType, &ev.AggregateID, &ev.EventType, &payload, &created); err != nil {
			return nil, fmt.Errorf("sqlite: list audit events: %w", mapErr(err))
		}
		ev.Payload, ev.CreatedAt = []byte(payload), fromMicros(created)
		out = append(out, &ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", mapErr(err))
	}
	return out, nil
}
