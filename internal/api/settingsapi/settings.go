package settingsapi

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/reqctx"
)

// settingsServer implements InstanceSettingsService in the request's
// instance.
type settingsServer struct {
	mail *mail.Service
}

var _ adminv1connect.InstanceSettingsServiceHandler = (*settingsServer)(nil)

// NewInstanceSettingsServer returns the InstanceSettingsService handler.
func NewInstanceSettingsServer(m *mail.Service) adminv1connect.InstanceSettingsServiceHandler {
	return &settingsServer{mail: m}
}

// instanceID returns the ID of the request's instance.
func instanceID(ctx context.Context) (string, error) {
	in := reqctx.Instance(ctx)
	if in == nil {
		return "", errors.New("admin API: no instance in the request context")
	}
	return in.ID, nil
}

var tlsModes = map[adminv1.SmtpTlsMode]iam.SMTPTLSMode{
	adminv1.SmtpTlsMode_SMTP_TLS_MODE_UNSPECIFIED: "",
	adminv1.SmtpTlsMode_SMTP_TLS_MODE_STARTTLS:    iam.SMTPStartTLS,
	adminv1.SmtpTlsMode_SMTP_TLS_MODE_TLS:         iam.SMTPTLS,
	adminv1.SmtpTlsMode_SMTP_TLS_MODE_NONE:        iam.SMTPNoTLS,
}

func tlsToProto(m iam.SMTPTLSMode) adminv1.SmtpTlsMode {
	for p, d := range tlsModes {
		if d == m && p != adminv1.SmtpTlsMode_SMTP_TLS_MODE_UNSPECIFIED {
			return p
		}
	}
	return adminv1.SmtpTlsMode_SMTP_TLS_MODE_UNSPECIFIED
}

func settingsToProto(s *iam.SMTPSettings) *adminv1.SmtpSettings {
	return &adminv1.SmtpSettings{
		Host: s.Host, Port: int32(s.Port), Username: s.Username, PasswordSet: s.HasPassword(),
		FromAddress: s.FromAddress, FromName: s.FromName, Tls: tlsToProto(s.TLS),
		CreatedAt: apiutil.Timestamp(s.CreatedAt), ChangedAt: apiutil.Timestamp(s.ChangedAt), Version: s.Version,
	}
}

// GetSMTPSettings returns the instance's SMTP settings, if any.
func (s *settingsServer) GetSMTPSettings(ctx context.Context, _ *connect.Request[adminv1.GetSMTPSettingsRequest]) (*connect.Response[adminv1.GetSMTPSettingsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	out := &adminv1.GetSMTPSettingsResponse{DefaultAvailable: s.mail.HasDefault()}
	settings, err := s.mail.GetSettings(ctx, instance)
	switch {
	case iam.IsCode(err, iam.NotFound):
	case err != nil:
		return nil, err
	default:
		out.Settings = settingsToProto(settings)
	}
	return connect.NewResponse(out), nil
}

// SetSMTPSettings creates or replaces the instance's SMTP settings.
func (s *settingsServer) SetSMTPSettings(ctx context.Context, req *connect.Request[adminv1.SetSMTPSettingsRequest]) (*connect.Response[adminv1.SetSMTPSettingsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	tls, ok := tlsModes[m.Tls]
	if !ok {
		return nil, &iam.Error{Code: iam.Invalid, Field: "tls", Message: "unknown TLS mode"}
	}
	out, err := s.mail.SetSettings(ctx, reqctx.Actor(ctx), &iam.SMTPSettings{
		InstanceID: instance, Version: m.Version, Host: m.Host, Port: int(m.Port), Username: m.Username, Password: m.Password,
		FromAddress: m.FromAddress, FromName: m.FromName, TLS: tls,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SetSMTPSettingsResponse{Settings: settingsToProto(out)}), nil
}

// DeleteSMTPSettings deletes the instance's SMTP settings.
func (s *settingsServer) DeleteSMTPSettings(ctx context.Context, req *connect.Request[adminv1.DeleteSMTPSettingsRequest]) (*connect.Response[adminv1.DeleteSMTPSettingsResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.mail.DeleteSettings(ctx, reqctx.Actor(ctx), instance, req.Msg.Version); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.DeleteSMTPSettingsResponse{}), nil
}

// SendTestEmail queues a test e-mail.
func (s *settingsServer) SendTestEmail(ctx context.Context, req *connect.Request[adminv1.SendTestEmailRequest]) (*connect.Response[adminv1.SendTestEmailResponse], error) {
	instance, err := instanceID(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.mail.SendTestEmail(ctx, reqctx.Actor(ctx), instance, req.Msg.To, req.Msg.Language); err != nil {
		return nil, err
	}
	return connect.NewResponse(&adminv1.SendTestEmailResponse{}), nil
}
