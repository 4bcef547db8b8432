package login

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
)

// Consent: an application with ConsentRequired (a third-party
// application) gets the user's explicit permission for the scopes it asks
// for; the approval is remembered per user and application, so the user is
// asked again only for scopes not yet approved. A client that sends
// prompt=consent (OpenID Connect Core §3.1.2.1) gets the question every
// time. A refusal goes back to the client as access_denied.

// needsConsent reports whether u must approve the request's scopes first.
func (h *Handler) needsConsent(ctx context.Context, instanceID string, req *iam.AuthRequest, u *iam.User) (bool, error) {
	if slices.Contains(req.Prompt, "consent") {
		return true, nil
	}
	app, err := h.o.Apps.GetApplicationByClientID(ctx, instanceID, req.ClientID)
	if err != nil {
		// The request was validated against the application; it may have
		// been deleted since, and completing the request will fail then.
		return false, nil
	}
	if !app.ConsentRequired {
		return false, nil
	}
	if h.o.Sessions == nil {
		return true, nil
	}
	ok, err := h.o.Sessions.Consented(ctx, instanceID, u.ID, app.ID, req.Scopes)
	return !ok, err
}

// askConsent renders the consent page of the request for u.
func (h *Handler) askConsent(w http.ResponseWriter, r *http.Request, p *page, instanceID string, req *iam.AuthRequest) {
	app := req.ClientID
	if a, err := h.o.Apps.GetApplicationByClientID(r.Context(), instanceID, req.ClientID); err == nil {
		app = a.Name
	}
	p.body, p.Title, p.Error = "consent", p.m.T("consent.title"), ""
	p.Message = p.m.Tf("consent.intro", app)
	p.Scopes = nil
	for _, s := range req.Scopes {
		switch {
		case s == "openid":
			p.Scopes = append(p.Scopes, p.m.T("consent.openid"))
		case s == "profile":
			p.Scopes = append(p.Scopes, p.m.T("consent.profile"))
		case s == "email":
			p.Scopes = append(p.Scopes, p.m.T("consent.email"))
		case s == "offline_access":
			p.Scopes = append(p.Scopes, p.m.T("consent.offline"))
		case strings.HasPrefix(s, "urn:rampart:project:") && strings.HasSuffix(s, ":roles"):
			p.Scopes = append(p.Scopes, p.m.T("consent.roles"))
		case s == "urn:rampart:admin":
			p.Scopes = append(p.Scopes, p.m.T("consent.admin"))
		}
	}
	p.Scopes = slices.Compact(p.Scopes)
	h.render(w, r, http.StatusOK, p)
}

// consentStep handles the user's answer. The browser's session must have
// authenticated a user; an approval for an application that requires
// consent is remembered.
func (h *Handler) consentStep(w http.ResponseWriter, r *http.Request, p *page, instanceID string, req *iam.AuthRequest, pol *iam.Policies) {
	sess, u, ok := h.sessionUser(w, r, p, instanceID, pol, false)
	if !ok {
		return
	}
	if r.PostFormValue("decision") != "allow" {
		// RFC 6749 §4.1.2.1: the registered redirect URI of the request
		// (validated at /authorize) gets access_denied and the state.
		http.Redirect(w, r, errorRedirect(req, "access_denied", "the user denied the request"), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	if app, err := h.o.Apps.GetApplicationByClientID(ctx, instanceID, req.ClientID); err == nil && app.ConsentRequired && h.o.Sessions != nil {
		if err := h.o.Sessions.GrantConsent(ctx, instanceID, u.ID, app.ID, req.Scopes); err != nil {
			p.body, p.Error = "message", p.m.T("error.unavailable")
			h.render(w, r, http.StatusServiceUnavailable, p)
			return
		}
	}
	h.completeAt(w, r, p, instanceID, req.ID, u, sess.AMR, sess.AuthTime())
}

// errorRedirect is the authorization error response for req: in the query,
// or in the fragment for implicit responses (OAuth 2.0 Multiple Response
// Type Encoding Practices).
func errorRedirect(req *iam.AuthRequest, code, description string) string {
	v := url.Values{"error": {code}, "error_description": {description}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		return req.RedirectURI
	}
	if req.ResponseMode == "fragment" || (req.ResponseMode == "" && req.ResponseType != "code") {
		u.Fragment = v.Encode()
		return u.String()
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}
