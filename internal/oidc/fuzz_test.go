package oidc_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/testenv"
)

// fuzzWorld is the SQLite harness the fuzz targets run against (one per
// fuzzing process).
func fuzzWorld(f *testing.F) *world {
	f.Helper()
	h := newHarness(f, "sqlite", testenv.NewStore(f, "sqlite"), harnessOptions{})
	return h.seed(f, "A", "tenant-a.test", false)
}

// Client authentications the token fuzzer combines with its bodies.
const (
	authNone = iota
	authWeb
	authAPI
	authMachine
	authWrong
	authGarbage
	authModes
)

func (w *world) fuzzAuth(mode byte) http.Header {
	switch mode % authModes {
	case authWeb:
		return basic("web", w.web.secret)
	case authAPI:
		return basic("api", w.api.secret)
	case authMachine:
		return basic("svc", w.svcSecret)
	case authWrong:
		return basic("web", "wrong")
	case authGarbage:
		h := http.Header{}
		h.Set("Authorization", "Basic %%%not-base64")
		return h
	}
	return nil
}

// FuzzTokenRequest fuzzes the form body of POST /oauth/token (with one of
// a few client authentications): the endpoint never panics, never answers
// 5xx, and answers either tokens or an RFC 6749 §5.2 error.
func FuzzTokenRequest(f *testing.F) {
	w := fuzzWorld(f)
	now := time.Now()
	jwtAssertion := assertion(f, w.svcKey, w.svcKeyID, jwtClaims(w.svc.ID, w.svc.ID, w.issuer, now, time.Hour))
	clientAssertion := assertion(f, w.pkjwt.key, w.pkjwt.keyID, jwtClaims("pkjwt", "pkjwt", w.issuer, now, time.Hour))
	for _, s := range []struct {
		body string
		auth byte
	}{
		{"grant_type=client_credentials", authAPI},
		{"grant_type=client_credentials&scope=openid+profile+urn%3Arampart%3Aadmin", authMachine},
		{"grant_type=client_credentials&scope=urn%3Arampart%3Aproject%3A" + w.apiProj.ID + "%3Aaud", authAPI},
		{"grant_type=client_credentials&client_id=opaque&client_secret=" + url.QueryEscape(w.opaque.secret), authNone},
		{"grant_type=client_credentials&client_id=web&client_secret=wrong", authNone},
		{"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + clientAssertion, authNone},
		{"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", authNone},
		{"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_verifier=" + strings.Repeat("v", 43), authWeb},
		{"grant_type=authorization_code&code=&redirect_uri=", authWeb},
		{"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&client_id=spa", authNone},
		{"grant_type=refresh_token&refresh_token=rrt_abc", authWeb},
		{"grant_type=refresh_token&refresh_token=rrt_abc&scope=openid+email", authWeb},
		{"grant_type=refresh_token&refresh_token=" + strings.Repeat("x", 300), authWeb},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwtAssertion + "&scope=openid+profile", authNone},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", authNone},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=abc&client_id=device", authNone},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=x&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token", authWeb},
		{"grant_type=password&username=alice&password=x", authWeb},
		{"grant_type=implicit", authWeb},
		{"", authNone},
		{"grant_type=client_credentials&grant_type=authorization_code", authAPI},
		{"grant_type=%zz", authAPI},
		{"grant_type=client_credentials&client_id=" + strings.Repeat("a", 300) + "&client_secret=x", authNone},
		{"grant_type=client_credentials", authGarbage},
		{"grant_type=refresh_token&refresh_token=rrt_x", authWrong},
	} {
		f.Add(s.body, s.auth)
	}
	f.Fuzz(func(t *testing.T, body string, auth byte) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.issuer+oidc.PathToken, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range w.fuzzAuth(auth) {
			req.Header[k] = v
		}
		r := do(t, w.h.client, req)
		switch {
		case r.status >= 500:
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		case r.status == http.StatusOK:
			if r.str("access_token") == "" {
				t.Fatalf("200 without an access token for %q: %s", body, r.body)
			}
		case r.str("error") == "":
			t.Fatalf("status %d without an OAuth error for %q: %s", r.status, body, r.body)
		}
	})
}

// FuzzAuthorizeRequest fuzzes the query of GET /oauth/authorize: the
// endpoint never panics, never answers 5xx, and redirects only to a
// redirect URI registered for the client named in the request (a native
// client's loopback URI with any port, RFC 8252 §7.3) or to the login page.
func FuzzAuthorizeRequest(f *testing.F) {
	w := fuzzWorld(f)
	apps := []*app{w.web, w.spa, w.native, w.api, w.pkjwt, w.opaque, w.device, w.webOpaque}
	_, challenge := pkce()
	for _, q := range []string{
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&state=s",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid+offline_access+urn%3Arampart%3Aadmin&state=s&nonce=n&code_challenge=" + challenge + "&code_challenge_method=S256",
		"client_id=spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid&code_challenge=" + challenge + "&code_challenge_method=S256",
		"client_id=spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid",
		"client_id=native&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcb&response_type=code&scope=openid&code_challenge=" + challenge + "&code_challenge_method=S256",
		"client_id=native&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&response_type=code&scope=openid",
		"client_id=native&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%2Fcb&response_type=code&scope=openid",
		"client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid",
		"client_id=web&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=token&scope=openid",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=id_token&scope=openid&nonce=n",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&prompt=none",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&prompt=login+consent&max_age=0&ui_locales=de&login_hint=alice",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&request=eyJhbGciOiJub25lIn0.e30.",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&code_challenge=x&code_challenge_method=plain",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&response_mode=form_post",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&id_token_hint=a.b.c",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code",
		"client_id=api&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid",
		"client_id=device&response_type=code&scope=openid",
		"client_id=nope&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid",
		"client_id=web&client_id=spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid",
		"",
		"%zz",
		"client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&response_type=code&scope=openid&state=" + strings.Repeat("s", 3000),
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.issuer+oidc.PathAuthorize+"?"+query, nil)
		if err != nil {
			t.Skip("not a URL a client can send")
		}
		r := do(t, w.h.client, req)
		if r.status >= 500 {
			t.Fatalf("status %d for %q: %s", r.status, query, r.body)
		}
		if r.status < 300 || r.status >= 400 {
			return
		}
		loc := r.location(t, w.issuer)
		if loc.Scheme+"://"+loc.Host == w.issuer && loc.Path == oidc.PathLogin {
			return
		}
		// The library's form decoder matches parameter names ignoring case.
		q, _ := url.ParseQuery(req.URL.RawQuery)
		var clientIDs []string
		for k, v := range q {
			if strings.EqualFold(k, "client_id") {
				clientIDs = append(clientIDs, v...)
			}
		}
		target := loc.Scheme + "://" + loc.Host + loc.Path
		for _, a := range apps {
			if !slices.Contains(clientIDs, a.ClientID) || loc.User != nil {
				continue
			}
			if slices.Contains(a.RedirectURIs, target) {
				return
			}
			// RFC 8252 §7.3: a native client's loopback URI, any port.
			if a.ClientID == "native" && loc.Scheme == "http" && loc.Hostname() == "127.0.0.1" && loc.Path == "/cb" {
				return
			}
		}
		t.Fatalf("authorize %q redirected to %s: not a redirect URI of the client nor the login page", query, loc)
	})
}
