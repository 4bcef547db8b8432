package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// Kind is the kind of a message; it chooses the templates.
type Kind string

// Message kinds and the Data keys they require (beyond the common
// optional ones, see Message).
const (
	// KindVerifyEmail asks the user to confirm an e-mail address. Requires
	// "code" (to type in) and "link" (to click).
	KindVerifyEmail Kind = "verify_email"
	// KindPasswordReset carries a password reset link. Requires "link".
	KindPasswordReset Kind = "password_reset"
	// KindOTP carries a one-time login code (e-mail OTP). Requires "code".
	KindOTP Kind = "otp"
	// KindPasswordChanged tells the user their password was changed.
	KindPasswordChanged Kind = "password_changed"
	// KindTest is the test message of the admin API.
	KindTest Kind = "test"
)

// Kinds lists every message kind.
var Kinds = []Kind{KindVerifyEmail, KindPasswordReset, KindOTP, KindPasswordChanged, KindTest}

// required are the Data keys each kind needs.
var required = map[Kind][]string{
	KindVerifyEmail:     {"code", "link"},
	KindPasswordReset:   {"link"},
	KindOTP:             {"code"},
	KindPasswordChanged: nil,
	KindTest:            nil,
}

// optional are the Data keys every kind may have.
var optional = []string{"name", "product", "expires_minutes", "logo_url", "color"}

// DefaultProduct names the sender in messages whose Data has no "product".
const DefaultProduct = "Rampart"

// maxDataValue bounds each Data value, in bytes.
const maxDataValue = 2048

// Message is an e-mail to queue. Data fills the templates of Kind:
//
//	code             the code to type in (verify_email, otp)
//	link             an absolute http(s) URL (verify_email, password_reset)
//	name             the recipient's name, for the greeting (optional)
//	product          the product name, e.g. the instance's branding
//	                 (optional; DefaultProduct)
//	expires_minutes  how long the code or link is valid, in minutes
//	                 (optional)
//	logo_url         an https URL of a logo shown in the HTML part
//	                 (optional)
//	color            the primary colour of the HTML part, #rrggbb
//	                 (optional)
//
// Values are single lines of text. Unknown keys are refused (a typo would
// silently leave a blank).
type Message struct {
	InstanceID string
	// To is the recipient's bare address.
	To   string
	Kind Kind
	// Lang is the recipient's preferred language: a BCP 47 tag or an
	// Accept-Language list; messages are in English or German, English
	// when neither matches.
	Lang string
	Data map[string]string
}

var (
	digitsRE = regexp.MustCompile(`^[0-9]{1,6}$`)
	colorRE  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// Validate reports every problem of the message at once.
func (m *Message) Validate() error {
	var fe iam.FieldErrors
	if m.InstanceID == "" {
		fe.Add("instance_id", "required")
	}
	if p := iam.ValidateEmail(m.To); p != "" {
		fe.Add("to", "%s", p)
	}
	req, ok := required[m.Kind]
	if !ok {
		fe.Add("kind", "unknown message kind %q", m.Kind)
	}
	if len(m.Lang) > 200 {
		fe.Add("lang", "must be a BCP 47 language tag such as \"de-CH\"")
	}
	for _, k := range req {
		if m.Data[k] == "" {
			fe.Add("data."+k, "required for %s messages", m.Kind)
		}
	}
	for _, k := range sortedKeys(m.Data) {
		v := m.Data[k]
		field := "data." + k
		switch {
		case !slices.Contains(req, k) && !slices.Contains(optional, k):
			fe.Add(field, "unknown key for %s messages", m.Kind)
			continue
		case len(v) > maxDataValue:
			fe.Add(field, "must be at most %d bytes", maxDataValue)
			continue
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			fe.Add(field, "must be one line of valid UTF-8 without control characters")
			continue
		}
		switch k {
		case "link":
			if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				fe.Add(field, "must be an absolute http or https URL")
			}
		case "logo_url":
			if u, err := url.Parse(v); v != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
				fe.Add(field, "must be an absolute https URL")
			}
		case "expires_minutes":
			if v != "" && !digitsRE.MatchString(v) {
				fe.Add(field, "must be a whole number of minutes")
			}
		case "color":
			if v != "" && !colorRE.MatchString(v) {
				fe.Add(field, "must be a colour like #1a73e8")
			}
		}
	}
	return fe.Err()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// KindSend is the River job kind of queued messages.
const KindSend = "rampart.mail.send"

// MaxAttempts bounds the delivery attempts of one message. With River's
// backoff (attempt⁴ seconds) the last of them happens about 4¼ hours after
// the first.
const MaxAttempts = 10

// sendArgs are the job of one message. Data is encrypted: codes and links
// are secrets, and job rows outlive the delivery (River keeps finished jobs
// for a day).
type sendArgs struct {
	InstanceID string `json:"instance_id"`
	// MessageID is unique per message and the same in every attempt, so
	// that a receiver can recognise a duplicate delivery.
	MessageID string `json:"message_id"`
	To        string `json:"to"`
	MailKind  Kind   `json:"kind"`
	Lang      string `json:"lang,omitempty"`
	// Data is the JSON of Message.Data, sealed with the master key
	// (associated data dataAAD).
	Data []byte `json:"data,omitempty"`
}

// Kind implements river.JobArgs.
func (sendArgs) Kind() string { return KindSend }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (sendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

// dataAAD binds the encrypted data of a message to it.
func dataAAD(instanceID, messageID string) []byte {
	return []byte("mail:" + instanceID + ":" + messageID)
}

// Enqueue validates msg and queues it as a job in q. When q is a
// transaction of store.WithTx, the message is sent if and only if the
// transaction commits (an outbox); any other q queues it at once. Invalid
// for a bad message; an error if no queue is set.
func (s *Service) Enqueue(ctx context.Context, q store.Queries, msg Message) error {
	msg.To = strings.TrimSpace(msg.To)
	if err := msg.Validate(); err != nil {
		return err
	}
	e := s.enqueuer.Load()
	if e == nil {
		return errors.New("mail: no job queue set (SetEnqueuer)")
	}
	args := sendArgs{InstanceID: msg.InstanceID, MessageID: iam.NewID(), To: msg.To, MailKind: msg.Kind, Lang: msg.Lang}
	if len(msg.Data) > 0 {
		plain, err := json.Marshal(msg.Data)
		if err != nil {
			return fmt.Errorf("mail: encode data: %w", err)
		}
		if args.Data, err = s.keyring.Encrypt(plain, dataAAD(args.InstanceID, args.MessageID)); err != nil {
			return fmt.Errorf("mail: encrypt data: %w", err)
		}
	}
	if err := (*e).Enqueue(ctx, q, args, nil); err != nil {
		return fmt.Errorf("mail: queue %s message: %w", msg.Kind, err)
	}
	return nil
}

// decodeData opens the data of a queued message.
func (s *Service) decodeData(a *sendArgs) (map[string]string, error) {
	data := map[string]string{}
	if len(a.Data) == 0 {
		return data, nil
	}
	plain, err := s.keyring.Decrypt(a.Data, dataAAD(a.InstanceID, a.MessageID))
	if err != nil {
		return nil, fmt.Errorf("decrypt message data (was the master key replaced?): %w", err)
	}
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, fmt.Errorf("decode message data: %w", err)
	}
	return data, nil
}

// sendTimeout bounds one delivery attempt, dialTimeout its connection.
const (
	sendTimeout = 2 * time.Minute
	dialTimeout = 30 * time.Second
)

// EnqueueNow queues msg on its own, outside any caller's transaction: for
// messages whose cause is already committed (a one-time code), where a
// failure to queue is reported to the user, who can ask again.
func (s *Service) EnqueueNow(ctx context.Context, msg Message) error {
	return s.Enqueue(ctx, s.store, msg)
}
