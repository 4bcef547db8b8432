// Package settingsapi implements the admin API's InstanceSettingsService
// on internal/mail: the SMTP settings of the request's instance and test
// e-mails.
//
// Handlers are thin: they take the instance from the request context
// (reqctx.Instance, set by the tenant middleware from the Host — never from
// a request field) and the audit actor from reqctx.Actor, convert protobuf
// messages to domain values and back, and return the service's iam errors
// for the API's error interceptor to translate. Authorization happens in an
// interceptor before them (instance.read to read, instance.write to
// change or send). The SMTP password is write-only: responses say only
// whether one is stored.
//
// Imports: internal/mail, internal/iam, internal/reqctx,
// internal/api/apiutil, the generated API types, connect and protobuf.
package settingsapi
