// Package mail sends Rampart's e-mail (address verification, password
// reset, one-time codes, password-change notices, test messages) and
// manages the SMTP settings of instances.
//
// Sending is durable and transactional: Enqueue inserts a River job in the
// caller's store transaction, so a message is sent if and only if the
// change that caused it commits (the outbox pattern; River's job table is
// the queue). The codes and links of a message are encrypted with the
// master key inside the job. The delivery worker (Register) runs on
// whichever node works the job:
//
//	Enqueue ──tx──▶ river_job ──▶ worker: SMTP settings (instance's, else the
//	                                configured default, else an error)
//	                              ▶ render templates (kind × language)
//	                              ▶ compose MIME (multipart/alternative)
//	                              ▶ SMTP: STARTTLS / implicit TLS / none,
//	                                AUTH PLAIN or LOGIN, MAIL, RCPT, DATA
//
// A failed attempt is retried with River's backoff (attempt⁴ seconds) up to
// MaxAttempts; a 5xx answer to RCPT or DATA (the server rejects the
// recipient or the message for good) cancels the job at once. Every attempt
// of a message carries the same Message-ID.
//
// Templates are embedded: templates/<kind>.<lang>.txt (text/template,
// defines "subject" and "text") and templates/<kind>.<lang>.html
// (html/template, defines "content" inside templates/layout.html), in
// English and German. The language is the best match of the recipient's
// preferred language, English otherwise.
//
// SMTP settings are per instance (at most one set), changed with optimistic
// concurrency and an audit event in the same transaction. Their password is
// stored encrypted with the master key (associated data "smtp:" + instance
// ID) and never returned, logged or audited; an update without a password
// keeps the stored one.
//
// Imports: internal/iam, internal/store, internal/crypto, River (job
// arguments and workers), golang.org/x/text/language and the standard
// library (net/smtp).
package mail
