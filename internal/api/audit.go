package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/reqctx"
	"github.com/rampartiam/rampart/internal/store"
)

// AuditLog reads the audit log; store.Store implements it.
type AuditLog interface {
	AuditEventList(ctx context.Context, p *store.AuditEventListParams) ([]*iam.AuditEvent, error)
}

// auditServer implements AuditService: the audit log of the request's
// instance, never another's.
type auditServer struct {
	log AuditLog
}

var _ adminv1connect.AuditServiceHandler = (*auditServer)(nil)

// NewAuditServer returns the AuditService handler.
func NewAuditServer(log AuditLog) adminv1connect.AuditServiceHandler {
	return &auditServer{log: log}
}

// Page tokens of the audit log carry the direction they were issued for,
// so that a token cannot continue a listing in the other direction.
const (
	auditAscending  = "asc"
	auditDescending = "desc"
)

// ListAuditEvents pages through the events of the request's instance
// matching every given filter; the cursor is the event ID.
func (s *auditServer) ListAuditEvents(ctx context.Context, req *connect.Request[adminv1.ListAuditEventsRequest]) (*connect.Response[adminv1.ListAuditEventsResponse], error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return nil, errors.New("admin API: no instance in the request context")
	}
	m := req.Msg
	size, err := apiutil.PageSize(m.PageSize)
	if err != nil {
		return nil, err
	}
	direction := auditAscending
	if m.Descending {
		direction = auditDescending
	}
	badToken := &iam.Error{Code: iam.Invalid, Field: "page_token", Message: "not a page token from a previous response with the same order"}
	cur, err := apiutil.DecodePageToken(m.PageToken)
	if err != nil {
		return nil, err
	}
	var after int64
	if m.PageToken != "" {
		if cur.Key != direction {
			return nil, badToken
		}
		if after, err = strconv.ParseInt(cur.ID, 10, 64); err != nil || after <= 0 {
			return nil, badToken
		}
	}
	from, fromErr := apiutil.Time(m.From, "from")
	to, toErr := apiutil.Time(m.To, "to")
	if err := apiutil.Collect(fromErr, toErr); err != nil {
		return nil, err
	}
	events, err := s.log.AuditEventList(ctx, &store.AuditEventListParams{
		InstanceID: in.ID, AggregateType: m.AggregateType, AggregateID: m.AggregateId, Actor: m.Actor,
		EventType: m.EventType, From: from, To: to, AfterID: after, Descending: m.Descending, Limit: size,
	})
	if err != nil {
		return nil, store.DomainError(err, "audit events")
	}
	out := &adminv1.ListAuditEventsResponse{
		NextPageToken: apiutil.NextPageToken(events, size, func(ev *iam.AuditEvent) apiutil.Cursor {
			return apiutil.Cursor{Key: direction, ID: strconv.FormatInt(ev.ID, 10)}
		}),
	}
	for _, ev := range events {
		out.Events = append(out.Events, &adminv1.AuditEvent{
			Id: ev.ID, Actor: ev.Actor, AggregateType: ev.AggregateType, AggregateId: ev.AggregateID,
			EventType: ev.EventType, Payload: payloadStruct(ev.Payload), CreatedAt: apiutil.Timestamp(ev.CreatedAt),
		})
	}
	return connect.NewResponse(out), nil
}

// payloadStruct converts a JSON object payload; anything else (never
// written by Rampart) becomes an empty struct rather than failing the page.
func payloadStruct(payload json.RawMessage) *structpb.Struct {
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil {
		return &structpb.Struct{}
	}
	st, err := structpb.NewStruct(obj)
	if err != nil {
		return &structpb.Struct{}
	}
	return st
}
