package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// DefaultTouchInterval is how often, at most, Get writes a session's new
// idle expiry.
const DefaultTouchInterval = time.Minute

// Options configure a Service.
type Options struct {
	// Secrets hashes session tokens. Required.
	Secrets *crypto.SecretHasher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TouchInterval throttles the sliding idle expiry: Get writes it only
	// when the session was last seen at least this long ago. 0 means
	// DefaultTouchInterval. The idle expiry is thus late by at most this
	// much.
	TouchInterval time.Duration
}

// Service manages login sessions.
type Service struct {
	store   store.Store
	secrets *crypto.SecretHasher
	now     func() time.Time
	touch   time.Duration
}

// New returns a Service. It panics if o.Secrets is nil.
func New(s store.Store, o Options) *Service {
	if o.Secrets == nil {
		panic("session.New: Options.Secrets is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = DefaultTouchInterval
	}
	return &Service{store: s, secrets: o.Secrets, now: o.Now, touch: o.TouchInterval}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Lifetimes bound a session; the caller takes them from the login policy.
type Lifetimes struct {
	// Absolute is the longest a session lives, from its creation. Required.
	Absolute time.Duration
	// Idle ends a session unused for this long; 0 means no idle timeout
	// (only the absolute lifetime applies).
	Idle time.Duration
}

// Client describes the browser that creates a session; both fields are
// informational (shown in lists of sessions), cleaned and truncated.
type Client struct {
	UserAgent string
	IP        string
}

// errNoSession is the answer for a missing, expired, malformed or
// otherwise unusable session: the login starts over.
var errNoSession = &iam.Error{Code: iam.Unauthenticated, Message: "your session has ended; please log in again"}

func noSession(cause error) error {
	return &iam.Error{Code: errNoSession.Code, Message: errNoSession.Message, Err: cause}
}

func internal(err error) error {
	return &iam.Error{Code: iam.Internal, Message: "internal error", Err: err}
}

// maxTokenLength bounds the tokens Get accepts (a token is 47 bytes).
const maxTokenLength = 128

// Create starts an anonymous session in the instance and returns it with
// its token, the cookie value (shown once; only its hash is stored).
func (s *Service) Create(ctx context.Context, instanceID string, client Client, lt Lifetimes) (*iam.LoginSession, string, error) {
	if instanceID == "" {
		return nil, "", internal(errors.New("session: no instance given"))
	}
	if lt.Absolute <= 0 || lt.Idle < 0 {
		return nil, "", internal(fmt.Errorf("session: invalid lifetimes %+v", lt))
	}
	now := s.clock()
	token := crypto.NewSecret(iam.SessionTokenPrefix)
	sess := &iam.LoginSession{
		ID: iam.NewID(), InstanceID: instanceID, TokenHash: s.secrets.Hash(token),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(lt.Absolute),
		UserAgent: iam.CleanClientText(client.UserAgent, iam.MaxUserAgentLength),
		IP:        iam.CleanClientText(client.IP, iam.MaxIPLength),
	}
	sess.IdleExpiresAt = idleExpiry(now, lt.Idle, sess.ExpiresAt)
	if err := s.store.SessionCreate(ctx, &store.SessionCreateParams{Session: sess}); err != nil {
		return nil, "", store.DomainError(err, "session")
	}
	return sess, token, nil
}

// idleExpiry is now plus idle, capped at the absolute expiry (idle 0: no
// idle timeout).
func idleExpiry(now time.Time, idle time.Duration, expires time.Time) time.Time {
	if idle <= 0 || now.Add(idle).After(expires) {
		return expires
	}
	return now.Add(idle)
}

// lookup returns the live session of token and its user's state.
func (s *Service) lookup(ctx context.Context, instanceID, token string, now time.Time) (*iam.LoginSession, iam.UserState, error) {
	if instanceID == "" {
		return nil, "", internal(errors.New("session: no instance given"))
	}
	if !strings.HasPrefix(token, iam.SessionTokenPrefix) || len(token) > maxTokenLength {
		return nil, "", noSession(errors.New("malformed session token"))
	}
	sess, state, err := s.store.SessionGetByTokenHash(ctx, &store.SessionGetByTokenHashParams{
		InstanceID: instanceID, TokenHash: s.secrets.Hash(token), Now: now,
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, "", noSession(errors.New("unknown or expired session"))
	case err != nil:
		return nil, "", store.DomainError(err, "session")
	case sess.UserID != "" && state != iam.UserActive:
		return nil, "", noSession(fmt.Errorf("user %s of session %s is %q", sess.UserID, sess.ID, state))
	}
	return sess, state, nil
}

// Get returns the live session of the token. A session of a user who is
// not active (locked, deactivated) counts as ended. idle is the current
// idle timeout (0: none): a session last seen TouchInterval ago or more
// gets the idle expiry now+idle (never beyond its absolute expiry). It
// costs one store round trip, plus a write at most once per
// TouchInterval. A missing, expired or malformed token is Unauthenticated.
func (s *Service) Get(ctx context.Context, instanceID, token string, idle time.Duration) (*iam.LoginSession, error) {
	now := s.clock()
	sess, _, err := s.lookup(ctx, instanceID, token, now)
	if err != nil {
		return nil, err
	}
	if idle <= 0 || now.Sub(sess.LastSeenAt) < s.touch {
		return sess, nil
	}
	next := idleExpiry(now, idle, sess.ExpiresAt)
	err = s.store.SessionTouch(ctx, &store.SessionTouchParams{InstanceID: instanceID, ID: sess.ID, IdleExpiresAt: next, Now: now})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, noSession(errors.New("session ended while it was read"))
	case err != nil:
		return nil, store.DomainError(err, "session")
	}
	sess.LastSeenAt, sess.IdleExpiresAt = now, next
	return sess, nil
}

// SelectLoginName records the login name the user typed. If the session
// belongs to a user with another login name (compared case-insensitively),
// it becomes anonymous again: choosing another account ends the previous
// one's authentication in this browser.
func (s *Service) SelectLoginName(ctx context.Context, instanceID, token, loginName string) (*iam.LoginSession, error) {
	loginName = strings.TrimSpace(loginName)
	if p := iam.ValidateLoginName(loginName); p != "" {
		return nil, &iam.Error{Code: iam.Invalid, Field: "login_name", Message: p}
	}
	now := s.clock()
	sess, _, err := s.lookup(ctx, instanceID, token, now)
	if err != nil {
		return nil, err
	}
	p := authParams(sess, now)
	if !strings.EqualFold(sess.LoginName, loginName) {
		p.UserID, p.PasswordVerifiedAt, p.MFAVerifiedAt, p.AMR = "", time.Time{}, time.Time{}, nil
	}
	p.LoginName = loginName
	return s.update(ctx, p)
}

// authParams are the update parameters that keep sess as it is.
func authParams(sess *iam.LoginSession, now time.Time) *store.SessionUpdateAuthParams {
	return &store.SessionUpdateAuthParams{
		InstanceID: sess.InstanceID, ID: sess.ID, UserID: sess.UserID, LoginName: sess.LoginName,
		PasswordVerifiedAt: sess.PasswordVerifiedAt, MFAVerifiedAt: sess.MFAVerifiedAt, AMR: sess.AMR, Now: now,
	}
}

func (s *Service) update(ctx context.Context, p *store.SessionUpdateAuthParams) (*iam.LoginSession, error) {
	out, err := s.store.SessionUpdateAuth(ctx, p)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, noSession(fmt.Errorf("update session %s: %w", p.ID, err))
	case err != nil:
		return nil, store.DomainError(err, "session")
	}
	return out, nil
}

// authenticate binds the session of token to u, applies change and
// rotates the token. A session of another user is FailedPrecondition.
func (s *Service) authenticate(ctx context.Context, instanceID, token string, u *iam.User,
	change func(p *store.SessionUpdateAuthParams, now time.Time)) (*iam.LoginSession, string, error) {
	if u == nil || u.InstanceID != instanceID || u.ID == "" {
		return nil, "", internal(errors.New("session: user of another instance, or none"))
	}
	now := s.clock()
	sess, _, err := s.lookup(ctx, instanceID, token, now)
	if err != nil {
		return nil, "", err
	}
	p := authParams(sess, now)
	if sess.UserID != "" && sess.UserID != u.ID {
		return nil, "", &iam.Error{Code: iam.FailedPrecondition,
			Message: "this browser is logged in as another user; log out or choose the other account first",
			Err:     fmt.Errorf("session %s belongs to user %s, not %s", sess.ID, sess.UserID, u.ID)}
	}
	p.UserID, p.LoginName = u.ID, u.LoginName
	change(p, now)
	next := crypto.NewSecret(iam.SessionTokenPrefix)
	p.TokenHash = s.secrets.Hash(next)
	out, err := s.update(ctx, p)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// MarkPasswordVerified records that u proved their password in the
// session of token: the session is bound to u (if it was anonymous),
// PasswordVerifiedAt is now and "pwd" joins the AMR (with "mfa" if a
// second factor was verified too). The token is rotated: the caller must
// set the returned token as the new cookie value. A session bound to
// another user is FailedPrecondition (SelectLoginName switches accounts).
func (s *Service) MarkPasswordVerified(ctx context.Context, instanceID, token string, u *iam.User) (*iam.LoginSession, string, error) {
	return s.authenticate(ctx, instanceID, token, u, func(p *store.SessionUpdateAuthParams, now time.Time) {
		p.PasswordVerifiedAt = now
		p.AMR = iam.AddAMR(p.AMR, iam.AMRPassword)
		if !p.MFAVerifiedAt.IsZero() {
			p.AMR = iam.AddAMR(p.AMR, iam.AMRMultiFactor)
		}
	})
}

// MarkMFAVerified records that u proved a second factor (or a passkey) in
// the session of token: MFAVerifiedAt is now and amr (RFC 8176 values
// such as "otp" or "hwk") join the AMR, with "mfa" if the password was
// verified too. An anonymous session is bound to u, which is how a
// passwordless passkey login starts a session; callers that count a
// user-verifying passkey as multi-factor pass iam.AMRMultiFactor
// themselves. The token is rotated as by MarkPasswordVerified.
func (s *Service) MarkMFAVerified(ctx context.Context, instanceID, token string, u *iam.User, amr ...string) (*iam.LoginSession, string, error) {
	return s.authenticate(ctx, instanceID, token, u, func(p *store.SessionUpdateAuthParams, now time.Time) {
		p.MFAVerifiedAt = now
		p.AMR = iam.AddAMR(p.AMR, amr...)
		if !p.PasswordVerifiedAt.IsZero() {
			p.AMR = iam.AddAMR(p.AMR, iam.AMRMultiFactor)
		}
	})
}

// Logout ends the session of token. An unknown or expired token is no
// error: the session is gone either way.
func (s *Service) Logout(ctx context.Context, instanceID, token string) error {
	sess, _, err := s.lookup(ctx, instanceID, token, s.clock())
	if iam.IsCode(err, iam.Unauthenticated) {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.store.SessionDelete(ctx, &store.SessionDeleteParams{InstanceID: instanceID, ID: sess.ID})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.DomainError(err, "session")
	}
	return nil
}

// LogoutEverywhere ends every session of the user and returns how many
// there were, with a "user.sessions_ended" event by actor when there was
// any (in the same transaction). Callers use it after a password change,
// a lockout or an administrator's request.
func (s *Service) LogoutEverywhere(ctx context.Context, actor, instanceID, userID string) (int, error) {
	if instanceID == "" || userID == "" {
		return 0, internal(errors.New("session: no instance or user given"))
	}
	var n int
	err := s.store.WithTx(ctx, func(tx store.Queries) error {
		var err error
		n, err = tx.SessionDeleteByUser(ctx, &store.SessionDeleteByUserParams{InstanceID: instanceID, UserID: userID})
		if err != nil || n == 0 {
			return err
		}
		body, err := json.Marshal(map[string]any{"sessions": n})
		if err != nil {
			return fmt.Errorf("encode audit payload: %w", err)
		}
		_, err = tx.AuditEventAppend(ctx, &store.AuditEventAppendParams{
			InstanceID: instanceID, Actor: actor, AggregateType: iam.AggregateUser, AggregateID: userID,
			EventType: iam.EventUserSessionsEnded, Payload: body, Now: s.clock(),
		})
		return err
	})
	if err != nil {
		return 0, store.DomainError(err, "sessions")
	}
	return n, nil
}
