package storetest

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// oidcFixture is a store with two instances and a user in each.
type oidcFixture struct {
	s               store.Store
	in, other       *iam.Instance
	user, otherUser *iam.User
	org             *iam.Organization
	at              time.Time
}

func (b *bundle) oidcFixture(t *testing.T) *oidcFixture {
	t.Helper()
	s := b.open(t)
	f := &oidcFixture{s: s, in: b.instance(t, s), other: b.instance(t, s), at: now()}
	f.org = mustCreateOrg(t, s, f.in.ID)
	f.user = mustCreateUser(t, s, f.in.ID, f.org.ID)
	f.otherUser = mustCreateUser(t, s, f.other.ID, mustCreateOrg(t, s, f.other.ID).ID)
	return f
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameValue[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %+v,\nwant %+v", what, got, want)
	}
}

func newAuthRequest(instanceID string, at time.Time) *iam.AuthRequest {
	return &iam.AuthRequest{
		ID: iam.NewID(), InstanceID: instanceID, ClientID: "client-" + iam.NewID(), RedirectURI: "https://app.example/cb",
		Scopes: []string{"openid", "profile"}, State: "state-1", Nonce: "nonce-1", ResponseType: "code", ResponseMode: "query",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		Prompt: []string{"login", "consent"}, MaxAge: -1, LoginHint: "alice", UILocales: []string{"de-CH", "en"},
		CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute),
	}
}

// testOIDC covers OIDCQueries and OIDCCleanupQueries.
func (b *bundle) testOIDC(t *testing.T) {
	t.Run("AuthRequestLifecycle", b.testAuthRequestLifecycle)
	t.Run("AuthCodeConcurrentRedeem", b.testAuthCodeConcurrentRedeem)
	t.Run("RefreshTokens", b.testRefreshTokens)
	t.Run("AccessTokensAndTokenStatus", b.testTokenStatus)
	t.Run("DeviceAuthorizations", b.testDeviceAuthorizations)
	t.Run("SigningKeys", b.testSigningKeys)
	t.Run("ApplicationKeys", b.testApplicationKeys)
	t.Run("ProjectAudience", b.testProjectAudience)
	t.Run("UserDeleteCascades", b.testOIDCUserDeleteCascades)
	t.Run("CleanupInBatches", b.testOIDCCleanup)
}

func (b *bundle) testAuthRequestLifecycle(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	r := newAuthRequest(f.in.ID, at)
	must0(t, s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: r}))
	get := func(instanceID string, now time.Time) (*iam.AuthRequest, error) {
		return s.AuthRequestGet(ctx, &store.AuthRequestGetParams{InstanceID: instanceID, ID: r.ID, Now: now})
	}
	sameValue(t, "created request", must[*iam.AuthRequest](t)(get(f.in.ID, at)), r)
	wantErr(t, s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: r}), store.ErrAlreadyExists)
	for _, c := range []struct {
		name       string
		instanceID string
		now        time.Time
	}{
		{"expired", f.in.ID, r.ExpiresAt},
		{"other instance", f.other.ID, at},
	} {
		_, err := get(c.instanceID, c.now)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get %s: err = %v, want not found", c.name, err)
		}
	}

	// A code only for a done request.
	hash := []byte("code-hash-" + iam.NewID())
	setCode := func(instanceID, id string, now time.Time) error {
		return s.AuthRequestSetCode(ctx, &store.AuthRequestSetCodeParams{InstanceID: instanceID, ID: id, CodeHash: hash, Now: now})
	}
	wantErr(t, setCode(f.in.ID, r.ID, at), store.ErrConflict)
	wantErr(t, setCode(f.other.ID, r.ID, at), store.ErrNotFound)
	wantErr(t, setCode(f.in.ID, iam.NewID(), at), store.ErrNotFound)

	authTime := at.Add(-time.Minute)
	complete := func(instanceID, userID string, now time.Time) error {
		return s.AuthRequestComplete(ctx, &store.AuthRequestCompleteParams{
			InstanceID: instanceID, ID: r.ID, UserID: userID, AuthTime: authTime, AMR: []string{"pwd", "otp"}, Now: now,
		})
	}
	wantErr(t, complete(f.other.ID, f.otherUser.ID, at), store.ErrNotFound)
	wantErr(t, complete(f.in.ID, f.user.ID, r.ExpiresAt), store.ErrNotFound)
	if err := complete(f.in.ID, f.otherUser.ID, at); err == nil {
		t.Fatal("completed with a user of another instance")
	}
	must0(t, complete(f.in.ID, f.user.ID, at))
	wantErr(t, complete(f.in.ID, f.user.ID, at), store.ErrNotFound)
	r.UserID, r.AuthTime, r.AMR, r.Done = f.user.ID, authTime, []string{"pwd", "otp"}, true
	sameValue(t, "completed request", must[*iam.AuthRequest](t)(get(f.in.ID, at)), r)

	wantErr(t, setCode(f.in.ID, r.ID, r.ExpiresAt), store.ErrNotFound)
	must0(t, setCode(f.in.ID, r.ID, at))
	wantErr(t, setCode(f.in.ID, r.ID, at), store.ErrConflict)
	r.CodeHash = hash

	redeem := func(instanceID string, code []byte, now time.Time) (*iam.AuthRequest, error) {
		return s.AuthRequestRedeemCode(ctx, &store.AuthRequestRedeemCodeParams{InstanceID: instanceID, CodeHash: code, Now: now})
	}
	for _, c := range []struct {
		name       string
		instanceID string
		code       []byte
		now        time.Time
	}{
		{"other instance", f.other.ID, hash, at},
		{"unknown code", f.in.ID, []byte("unknown"), at},
		{"expired", f.in.ID, hash, r.ExpiresAt},
	} {
		if _, err := redeem(c.instanceID, c.code, c.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("redeem %s: err = %v, want not found", c.name, err)
		}
	}
	usedAt := at.Add(time.Second)
	r.CodeUsedAt = usedAt
	sameValue(t, "redeemed request", must[*iam.AuthRequest](t)(redeem(f.in.ID, hash, usedAt)), r)
	replayed, err := redeem(f.in.ID, hash, usedAt.Add(time.Second))
	wantErr(t, err, store.ErrConflict)
	sameValue(t, "replayed request", replayed, r)
	sameValue(t, "request after redemption", must[*iam.AuthRequest](t)(get(f.in.ID, at)), r)
	if _, err := redeem(f.in.ID, hash, r.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replay after expiry: err = %v, want not found", err)
	}

	del := func(instanceID string) error {
		return s.AuthRequestDelete(ctx, &store.AuthRequestDeleteParams{InstanceID: instanceID, ID: r.ID})
	}
	wantErr(t, del(f.other.ID), store.ErrNotFound)
	must0(t, del(f.in.ID))
	wantErr(t, del(f.in.ID), store.ErrNotFound)
	_, err = get(f.in.ID, at)
	wantErr(t, err, store.ErrNotFound)

	// A minimal request: empty lists and optional fields round-trip as
	// nil and zero.
	minimal := &iam.AuthRequest{ID: iam.NewID(), InstanceID: f.in.ID, ClientID: "c", RedirectURI: "https://x.example/cb",
		MaxAge: 300, CreatedAt: at, ExpiresAt: at.Add(time.Minute)}
	must0(t, s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: minimal}))
	sameValue(t, "minimal request", must[*iam.AuthRequest](t)(s.AuthRequestGet(ctx,
		&store.AuthRequestGetParams{InstanceID: f.in.ID, ID: minimal.ID, Now: at})), minimal)
}

func (b *bundle) testAuthCodeConcurrentRedeem(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	r := newAuthRequest(f.in.ID, f.at)
	hash := []byte("code-" + iam.NewID())
	must0(t, f.s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: r}))
	must0(t, f.s.AuthRequestComplete(ctx, &store.AuthRequestCompleteParams{InstanceID: f.in.ID, ID: r.ID, UserID: f.user.ID, AuthTime: f.at, Now: f.at}))
	must0(t, f.s.AuthRequestSetCode(ctx, &store.AuthRequestSetCodeParams{InstanceID: f.in.ID, ID: r.ID, CodeHash: hash, Now: f.at}))
	const n = 8
	got := make([]*iam.AuthRequest, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = f.s.AuthRequestRedeemCode(ctx, &store.AuthRequestRedeemCodeParams{InstanceID: f.in.ID, CodeHash: hash, Now: f.at})
		})
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case errors.Is(err, store.ErrConflict):
			if got[i] == nil || got[i].ID != r.ID || got[i].CodeUsedAt.IsZero() {
				t.Errorf("replay %d returned %+v, want the redeemed request", i, got[i])
			}
		default:
			t.Errorf("redeem %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent redemptions succeeded, want exactly 1 (errors %v)", winners, n, errs)
	}
}

func newRefreshToken(instanceID, userID, clientID, familyID string, at time.Time) *iam.RefreshToken {
	id := iam.NewID()
	return &iam.RefreshToken{ID: id, InstanceID: instanceID, FamilyID: familyID, TokenHash: []byte("rt-" + id), ClientID: clientID,
		UserID: userID, Scopes: []string{"openid", "offline_access"}, Audience: []string{clientID}, AMR: []string{"pwd"},
		AuthTime: at.Add(-time.Hour), CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

func (b *bundle) testRefreshTokens(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	create := func(tok *iam.RefreshToken) error {
		return s.RefreshTokenCreate(ctx, &store.RefreshTokenCreateParams{Token: tok})
	}
	getByHash := func(instanceID string, hash []byte) (*iam.RefreshToken, error) {
		return s.RefreshTokenGetByHash(ctx, &store.RefreshTokenGetByHashParams{InstanceID: instanceID, TokenHash: hash})
	}
	markUsed := func(instanceID, id string) error {
		return s.RefreshTokenMarkUsed(ctx, &store.RefreshTokenMarkUsedParams{InstanceID: instanceID, ID: id, Now: at.Add(time.Minute)})
	}
	famA, famB := "fam-a-"+iam.NewID(), "fam-b-"+iam.NewID()
	a1 := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at)
	must0(t, create(a1))
	sameValue(t, "token by hash", must[*iam.RefreshToken](t)(getByHash(f.in.ID, a1.TokenHash)), a1)
	dupID := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at)
	dupID.ID = a1.ID
	wantErr(t, create(dupID), store.ErrAlreadyExists)
	dupHash := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at)
	dupHash.TokenHash = a1.TokenHash
	wantErr(t, create(dupHash), store.ErrAlreadyExists)
	if err := create(newRefreshToken(f.in.ID, f.otherUser.ID, "web", famA, at)); err == nil {
		t.Fatal("token created for a user of another instance")
	}
	_, err := getByHash(f.other.ID, a1.TokenHash)
	wantErr(t, err, store.ErrNotFound)

	wantErr(t, markUsed(f.other.ID, a1.ID), store.ErrNotFound)
	wantErr(t, markUsed(f.in.ID, iam.NewID()), store.ErrNotFound)
	must0(t, markUsed(f.in.ID, a1.ID))
	wantErr(t, markUsed(f.in.ID, a1.ID), store.ErrConflict)
	a1.UsedAt = at.Add(time.Minute)
	sameValue(t, "used token", must[*iam.RefreshToken](t)(getByHash(f.in.ID, a1.TokenHash)), a1)
	// Expired tokens are still found: the caller decides.
	expired := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at.Add(-48*time.Hour))
	must0(t, create(expired))
	sameValue(t, "expired token", must[*iam.RefreshToken](t)(getByHash(f.in.ID, expired.TokenHash)), expired)

	// Concurrent rotation of one token: one wins.
	a2 := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at)
	must0(t, create(a2))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = markUsed(f.in.ID, a2.ID) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("mark used %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d concurrent MarkUsed succeeded, want exactly 1 (errors %v)", winners, n, errs)
	}

	// Family and user/client deletion.
	b1 := newRefreshToken(f.in.ID, f.user.ID, "web", famB, at)
	cli := newRefreshToken(f.in.ID, f.user.ID, "cli", "fam-c-"+iam.NewID(), at)
	otherInst := newRefreshToken(f.other.ID, f.otherUser.ID, "web", famA, at)
	for _, tok := range []*iam.RefreshToken{b1, cli, otherInst} {
		must0(t, create(tok))
	}
	if n := must[int](t)(s.RefreshTokenDeleteFamily(ctx, &store.RefreshTokenDeleteFamilyParams{InstanceID: f.in.ID, FamilyID: famA})); n != 3 {
		t.Fatalf("deleted %d tokens of family A, want 3", n)
	}
	for _, tok := range []*iam.RefreshToken{a1, a2, expired} {
		_, err := getByHash(f.in.ID, tok.TokenHash)
		wantErr(t, err, store.ErrNotFound)
	}
	must[*iam.RefreshToken](t)(getByHash(f.other.ID, otherInst.TokenHash))
	if n := must[int](t)(s.RefreshTokenDeleteFamily(ctx, &store.RefreshTokenDeleteFamilyParams{InstanceID: f.in.ID, FamilyID: famA})); n != 0 {
		t.Fatalf("deleted %d tokens of an empty family", n)
	}
	b2 := newRefreshToken(f.in.ID, f.user.ID, "web", famB, at)
	a3 := newRefreshToken(f.in.ID, f.user.ID, "web", famA, at)
	must0(t, create(b2))
	must0(t, create(a3))
	families := must[[]string](t)(s.RefreshTokenDeleteByUserClient(ctx, &store.RefreshTokenDeleteByUserClientParams{
		InstanceID: f.in.ID, UserID: f.user.ID, ClientID: "web"}))
	sameValue(t, "families of deleted tokens", families, sortedCopy([]string{famA, famB}))
	for _, tok := range []*iam.RefreshToken{b1, b2, a3} {
		_, err := getByHash(f.in.ID, tok.TokenHash)
		wantErr(t, err, store.ErrNotFound)
	}
	must[*iam.RefreshToken](t)(getByHash(f.in.ID, cli.TokenHash))
	must[*iam.RefreshToken](t)(getByHash(f.other.ID, otherInst.TokenHash))
	if families := must[[]string](t)(s.RefreshTokenDeleteByUserClient(ctx, &store.RefreshTokenDeleteByUserClientParams{
		InstanceID: f.in.ID, UserID: f.user.ID, ClientID: "web"})); len(families) != 0 {
		t.Fatalf("second deletion returned families %v", families)
	}
}

func (b *bundle) testTokenStatus(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	family := "fam-" + iam.NewID()
	tok := &iam.AccessToken{ID: family + "." + iam.NewID(), InstanceID: f.in.ID, FamilyID: family, ClientID: "api",
		Subject: f.user.ID, Scopes: []string{"openid", "email"}, Audience: []string{"api", "web"}, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must0(t, s.AccessTokenCreate(ctx, &store.AccessTokenCreateParams{Token: tok}))
	wantErr(t, s.AccessTokenCreate(ctx, &store.AccessTokenCreateParams{Token: tok}), store.ErrAlreadyExists)
	bare := &iam.AccessToken{ID: "bare." + iam.NewID(), InstanceID: f.in.ID, FamilyID: "bare", ClientID: "svc", Subject: "svc",
		CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	must0(t, s.AccessTokenCreate(ctx, &store.AccessTokenCreateParams{Token: bare}))

	status := func(p store.TokenStatusParams) *store.TokenStatus {
		t.Helper()
		return must[*store.TokenStatus](t)(s.TokenStatus(ctx, &p))
	}
	full := store.TokenStatusParams{InstanceID: f.in.ID, TokenID: tok.ID, FamilyID: family, UserID: f.user.ID, Opaque: true, Now: at}
	with := func(change func(p *store.TokenStatusParams)) store.TokenStatusParams {
		p := full
		change(&p)
		return p
	}
	check := func(when string) func(name string, p store.TokenStatusParams, want *store.TokenStatus) {
		return func(name string, p store.TokenStatusParams, want *store.TokenStatus) {
			t.Helper()
			sameValue(t, when+": "+name, status(p), want)
		}
	}

	c := check("before revocation")
	c("opaque token of an active user", full, &store.TokenStatus{UserState: iam.UserActive, Opaque: tok})
	c("without lists", with(func(p *store.TokenStatusParams) { p.TokenID, p.FamilyID, p.UserID = bare.ID, "bare", "" }),
		&store.TokenStatus{Opaque: bare})
	c("not opaque", with(func(p *store.TokenStatusParams) { p.Opaque = false }), &store.TokenStatus{UserState: iam.UserActive})
	c("expired token", with(func(p *store.TokenStatusParams) { p.Now = tok.ExpiresAt }), &store.TokenStatus{UserState: iam.UserActive})
	c("no user", with(func(p *store.TokenStatusParams) { p.UserID = "" }), &store.TokenStatus{Opaque: tok})
	c("unknown user", with(func(p *store.TokenStatusParams) { p.UserID = iam.NewID() }), &store.TokenStatus{Opaque: tok})
	c("user of another instance", with(func(p *store.TokenStatusParams) { p.UserID = f.otherUser.ID }), &store.TokenStatus{Opaque: tok})
	c("other instance", with(func(p *store.TokenStatusParams) { p.InstanceID = f.other.ID }), &store.TokenStatus{})
	c("unknown token", with(func(p *store.TokenStatusParams) { p.TokenID = family + ".x" }), &store.TokenStatus{UserState: iam.UserActive})

	revoke := func(instanceID, id string, until time.Time) {
		t.Helper()
		must0(t, s.RevocationCreate(ctx, &store.RevocationCreateParams{InstanceID: instanceID, ID: id, ExpiresAt: until}))
	}
	revoke(f.in.ID, family, at.Add(time.Hour))
	revokedID := "jwt." + iam.NewID()
	revoke(f.in.ID, revokedID, at.Add(2*time.Hour))
	revoke(f.in.ID, revokedID, at.Add(30*time.Minute)) // keeps the later expiry
	revoke(f.in.ID, family, at.Add(90*time.Minute))    // extends
	revoke(f.other.ID, "other-family", at.Add(time.Hour))
	jwt := func(tokenID, familyID string, now time.Time) store.TokenStatusParams {
		return store.TokenStatusParams{InstanceID: f.in.ID, TokenID: tokenID, FamilyID: familyID, Now: now}
	}
	c = check("after revocation")
	c("revoked family", full, &store.TokenStatus{Revoked: true, UserState: iam.UserActive, Opaque: tok})
	c("revoked family, extended", jwt("x", family, at.Add(80*time.Minute)), &store.TokenStatus{Revoked: true})
	c("revoked family, expired record", jwt("x", family, at.Add(90*time.Minute)), &store.TokenStatus{})
	c("revoked token ID", jwt(revokedID, "f", at.Add(time.Hour)), &store.TokenStatus{Revoked: true})
	c("revoked token ID, expired record", jwt(revokedID, "f", at.Add(2*time.Hour)), &store.TokenStatus{})
	c("revoked in another instance", jwt("x", "other-family", at), &store.TokenStatus{})
	c("not revoked", jwt("x", "y", at), &store.TokenStatus{})

	locked := *f.user
	locked.State = iam.UserLocked
	must[*iam.User](t)(s.UserUpdate(ctx, &store.UserUpdateParams{User: &locked, Now: at}))
	check("locked user")("state", with(func(p *store.TokenStatusParams) { p.Opaque = false; p.FamilyID = "f" }),
		&store.TokenStatus{UserState: iam.UserLocked})

	del := func(instanceID string) error {
		return s.AccessTokenDelete(ctx, &store.AccessTokenDeleteParams{InstanceID: instanceID, ID: tok.ID})
	}
	wantErr(t, del(f.other.ID), store.ErrNotFound)
	must0(t, del(f.in.ID))
	wantErr(t, del(f.in.ID), store.ErrNotFound)
	if st := status(full); st.Opaque != nil {
		t.Fatalf("deleted token still has a record: %+v", st.Opaque)
	}
}

func newDeviceAuth(instanceID, userCode string, at time.Time) *iam.DeviceAuthorization {
	return &iam.DeviceAuthorization{InstanceID: instanceID, DeviceCodeHash: []byte("dc-" + iam.NewID()), UserCode: userCode,
		ClientID: "tv", Scopes: []string{"openid", "offline_access"}, State: iam.DevicePending, CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}
}

func (b *bundle) testDeviceAuthorizations(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	create := func(d *iam.DeviceAuthorization, now time.Time) error {
		return s.DeviceAuthorizationCreate(ctx, &store.DeviceAuthorizationCreateParams{Auth: d, Now: now})
	}
	byCode := func(instanceID, code string, now time.Time) (*iam.DeviceAuthorization, error) {
		return s.DeviceAuthorizationGetByUserCode(ctx, &store.DeviceAuthorizationGetByUserCodeParams{InstanceID: instanceID, UserCode: code, Now: now})
	}
	poll := func(instanceID, clientID string, d *iam.DeviceAuthorization) (*iam.DeviceAuthorization, error) {
		return s.DeviceAuthorizationPoll(ctx, &store.DeviceAuthorizationPollParams{InstanceID: instanceID, ClientID: clientID,
			DeviceCodeHash: d.DeviceCodeHash, Now: at})
	}
	decide := func(instanceID, code string, approve bool, userID string, now time.Time) error {
		return s.DeviceAuthorizationDecide(ctx, &store.DeviceAuthorizationDecideParams{InstanceID: instanceID, UserCode: code,
			Approve: approve, UserID: userID, AuthTime: at.Add(-time.Second), AMR: []string{"pwd"}, Now: now})
	}

	d := newDeviceAuth(f.in.ID, "BCDF-GHJK", at)
	must0(t, create(d, at))
	sameValue(t, "pending authorization", must[*iam.DeviceAuthorization](t)(byCode(f.in.ID, d.UserCode, at)), d)
	sameCode := newDeviceAuth(f.in.ID, d.UserCode, at)
	wantErr(t, create(sameCode, at), store.ErrAlreadyExists)
	sameHash := newDeviceAuth(f.in.ID, "LMNP-QRST", at)
	sameHash.DeviceCodeHash = d.DeviceCodeHash
	wantErr(t, create(sameHash, at), store.ErrAlreadyExists)
	otherInst := newDeviceAuth(f.other.ID, d.UserCode, at)
	must0(t, create(otherInst, at))
	sameValue(t, "same user code in another instance", must[*iam.DeviceAuthorization](t)(byCode(f.other.ID, d.UserCode, at)), otherInst)
	for _, c := range []struct {
		name, code string
		now        time.Time
	}{{"expired", d.UserCode, d.ExpiresAt}, {"unknown", "XXXX-XXXX", at}} {
		if _, err := byCode(f.in.ID, c.code, c.now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get %s: err = %v, want not found", c.name, err)
		}
	}

	sameValue(t, "poll pending", must[*iam.DeviceAuthorization](t)(poll(f.in.ID, "tv", d)), d)
	for _, c := range []struct{ name, instanceID, clientID string }{{"other client", f.in.ID, "other"}, {"other instance", f.other.ID, "tv"}} {
		if _, err := poll(c.instanceID, c.clientID, d); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("poll %s: err = %v, want not found", c.name, err)
		}
	}

	wantErr(t, decide(f.in.ID, d.UserCode, true, f.user.ID, d.ExpiresAt), store.ErrNotFound)
	wantErr(t, decide(f.in.ID, "XXXX-XXXX", true, f.user.ID, at), store.ErrNotFound)
	if err := decide(f.in.ID, d.UserCode, true, f.otherUser.ID, at); err == nil {
		t.Fatal("approved for a user of another instance")
	}
	must0(t, decide(f.in.ID, d.UserCode, true, f.user.ID, at))
	wantErr(t, decide(f.in.ID, d.UserCode, false, "", at), store.ErrNotFound)
	_, err := byCode(f.in.ID, d.UserCode, at)
	wantErr(t, err, store.ErrNotFound)
	d.State, d.UserID, d.AuthTime, d.AMR = iam.DeviceApproved, f.user.ID, at.Add(-time.Second), []string{"pwd"}
	sameValue(t, "first poll after approval", must[*iam.DeviceAuthorization](t)(poll(f.in.ID, "tv", d)), d)
	d.State = iam.DeviceConsumed
	for range 2 {
		sameValue(t, "later poll", must[*iam.DeviceAuthorization](t)(poll(f.in.ID, "tv", d)), d)
	}
	sameValue(t, "other instance untouched", must[*iam.DeviceAuthorization](t)(poll(f.other.ID, "tv", otherInst)), otherInst)

	denied := newDeviceAuth(f.in.ID, "DDDD-DDDD", at)
	must0(t, create(denied, at))
	must0(t, decide(f.in.ID, denied.UserCode, false, f.user.ID, at))
	denied.State = iam.DeviceDenied
	sameValue(t, "denied", must[*iam.DeviceAuthorization](t)(poll(f.in.ID, "tv", denied)), denied)

	// An expired authorization's user code may be drawn again; the old
	// authorization is gone.
	old := newDeviceAuth(f.in.ID, "RRRR-RRRR", at)
	must0(t, create(old, at))
	reuse := newDeviceAuth(f.in.ID, old.UserCode, old.ExpiresAt)
	wantErr(t, create(reuse, old.ExpiresAt.Add(-time.Microsecond)), store.ErrAlreadyExists)
	must0(t, create(reuse, old.ExpiresAt))
	_, err = poll(f.in.ID, "tv", old)
	wantErr(t, err, store.ErrNotFound)
	sameValue(t, "reused code", must[*iam.DeviceAuthorization](t)(byCode(f.in.ID, old.UserCode, old.ExpiresAt)), reuse)

	// Poll returns expired authorizations too.
	expired := newDeviceAuth(f.in.ID, "EEEE-EEEE", at.Add(-time.Hour))
	must0(t, create(expired, at))
	sameValue(t, "expired poll", must[*iam.DeviceAuthorization](t)(poll(f.in.ID, "tv", expired)), expired)

	// Concurrent polls of an approved authorization: tokens once.
	conc := newDeviceAuth(f.in.ID, "CCCC-CCCC", at)
	must0(t, create(conc, at))
	must0(t, decide(f.in.ID, conc.UserCode, true, f.user.ID, at))
	const n = 8
	states := make([]iam.DeviceState, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got, err := poll(f.in.ID, "tv", conc)
			if err == nil {
				states[i] = got.State
			}
			errs[i] = err
		})
	}
	wg.Wait()
	approved := 0
	for i, st := range states {
		switch {
		case errs[i] != nil:
			t.Errorf("poll %d: %v", i, errs[i])
		case st == iam.DeviceApproved:
			approved++
		case st != iam.DeviceConsumed:
			t.Errorf("poll %d: state %q", i, st)
		}
	}
	if approved != 1 {
		t.Fatalf("%d of %d concurrent polls saw approved, want exactly 1 (states %v)", approved, n, states)
	}
}

func newSigningKey(gen int64, at time.Time, retire time.Duration) *iam.SigningKey {
	return &iam.SigningKey{ID: "kid-" + iam.NewID(), Generation: gen, Algorithm: "RS256",
		PrivateKey: []byte{0x30, 0x82, 0x01, byte(gen)}, PublicKey: []byte(`{"kty":"RSA","n":"AQAB"}`),
		CreatedAt: at, NotBefore: at.Add(time.Minute), NotAfter: at.Add(retire / 2), RetireAt: at.Add(retire)}
}

func (b *bundle) testSigningKeys(t *testing.T) {
	t.Parallel()
	s, ctx, at := b.open(t), t.Context(), now()
	create := func(k *iam.SigningKey) error {
		return s.SigningKeyCreate(ctx, &store.SigningKeyCreateParams{Key: k})
	}
	list := func(now time.Time) []*iam.SigningKey {
		t.Helper()
		return must[[]*iam.SigningKey](t)(s.SigningKeyList(ctx, &store.SigningKeyListParams{Now: now}))
	}
	if keys := list(at); len(keys) != 0 {
		t.Fatalf("fresh database has keys %v", keys)
	}
	k2, k1, retired := newSigningKey(2, at, 3*time.Hour), newSigningKey(1, at, time.Hour), newSigningKey(0, at.Add(-time.Hour), time.Hour)
	for _, k := range []*iam.SigningKey{k2, k1, retired} {
		must0(t, create(k))
	}
	sameValue(t, "published keys", list(at), []*iam.SigningKey{k1, k2})
	sameValue(t, "published keys later", list(k1.RetireAt), []*iam.SigningKey{k2})
	sameValue(t, "published keys earlier", list(at.Add(-time.Minute)), []*iam.SigningKey{retired, k1, k2})
	dupGen := newSigningKey(2, at, time.Hour)
	wantErr(t, create(dupGen), store.ErrAlreadyExists)
	dupID := newSigningKey(3, at, time.Hour)
	dupID.ID = k1.ID
	wantErr(t, create(dupID), store.ErrAlreadyExists)

	// Nodes racing to create the next generation: one key is created.
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = create(newSigningKey(3, at, 5*time.Hour)) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("create %d: %v", i, err)
		}
	}
	if keys := list(at); winners != 1 || len(keys) != 3 || keys[2].Generation != 3 {
		t.Fatalf("%d of %d concurrent creations succeeded (errors %v), keys %v; want exactly 1", winners, n, errs, keys)
	}
}

func (b *bundle) testApplicationKeys(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	proj := mustCreateProject(t, s, f.in.ID, f.org.ID)
	app, app2 := mustCreateApp(t, s, f.in.ID, f.org.ID, proj.ID), mustCreateApp(t, s, f.in.ID, f.org.ID, proj.ID)
	otherOrg := mustCreateOrg(t, s, f.other.ID)
	otherApp := mustCreateApp(t, s, f.other.ID, otherOrg.ID, mustCreateProject(t, s, f.other.ID, otherOrg.ID).ID)
	create := func(k *iam.ApplicationKey) (*iam.ApplicationKey, error) {
		return s.ApplicationKeyCreate(ctx, &store.ApplicationKeyCreateParams{Key: k, Now: at})
	}
	key := func(appID string, expires time.Time) *iam.ApplicationKey {
		return &iam.ApplicationKey{ID: iam.NewID(), InstanceID: f.in.ID, AppID: appID,
			PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\n" + iam.NewID() + "\n-----END PUBLIC KEY-----\n", ExpiresAt: expires}
	}
	get := func(instanceID, appID, id string) (*iam.ApplicationKey, error) {
		return s.ApplicationKeyGet(ctx, &store.ApplicationKeyGetParams{InstanceID: instanceID, AppID: appID, ID: id})
	}
	list := func(appID string) []*iam.ApplicationKey {
		t.Helper()
		return must[[]*iam.ApplicationKey](t)(s.ApplicationKeyList(ctx, &store.ApplicationKeyListParams{InstanceID: f.in.ID, AppID: appID}))
	}

	never, expiring := key(app.ID, time.Time{}), key(app.ID, at.Add(24*time.Hour))
	var want []*iam.ApplicationKey
	for _, k := range []*iam.ApplicationKey{never, expiring} {
		got := must[*iam.ApplicationKey](t)(create(k))
		k.CreatedAt = at
		sameValue(t, "created key", got, k)
		sameValue(t, "key", must[*iam.ApplicationKey](t)(get(f.in.ID, app.ID, k.ID)), k)
		want = append(want, k)
	}
	slices.SortFunc(want, func(a, b *iam.ApplicationKey) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	sameValue(t, "keys of the application", list(app.ID), want)
	// The same key cannot be registered twice for one application.
	again := key(app.ID, time.Time{})
	again.PublicKeyPEM = never.PublicKeyPEM
	if _, err := create(again); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("the same key again: %v, want ErrAlreadyExists", err)
	}
	if keys := list(app2.ID); len(keys) != 0 {
		t.Fatalf("other application has keys %v", keys)
	}
	dup := key(app2.ID, time.Time{})
	dup.ID = never.ID
	_, err := create(dup)
	wantErr(t, err, store.ErrAlreadyExists)
	_, err = create(key(iam.NewID(), time.Time{}))
	wantErr(t, err, store.ErrNotFound)
	_, err = create(key(otherApp.ID, time.Time{}))
	wantErr(t, err, store.ErrNotFound)
	for _, c := range []struct{ name, instanceID, appID string }{
		{"other application", f.in.ID, app2.ID}, {"other instance", f.other.ID, app.ID},
	} {
		if _, err := get(c.instanceID, c.appID, never.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get via %s: err = %v, want not found", c.name, err)
		}
		err := s.ApplicationKeyDelete(ctx, &store.ApplicationKeyDeleteParams{InstanceID: c.instanceID, AppID: c.appID, ID: never.ID})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete via %s: err = %v, want not found", c.name, err)
		}
	}
	must0(t, s.ApplicationKeyDelete(ctx, &store.ApplicationKeyDeleteParams{InstanceID: f.in.ID, AppID: app.ID, ID: never.ID}))
	wantErr(t, s.ApplicationKeyDelete(ctx, &store.ApplicationKeyDeleteParams{InstanceID: f.in.ID, AppID: app.ID, ID: never.ID}), store.ErrNotFound)
	sameValue(t, "keys after delete", list(app.ID), []*iam.ApplicationKey{expiring})

	// Deleting the application deletes its keys.
	must0(t, s.ApplicationDelete(ctx, &store.ApplicationDeleteParams{InstanceID: f.in.ID, OrgID: f.org.ID, ProjectID: proj.ID, ID: app.ID, Version: app.Version}))
	_, err = get(f.in.ID, app.ID, expiring.ID)
	wantErr(t, err, store.ErrNotFound)
	if keys := list(app.ID); len(keys) != 0 {
		t.Fatalf("keys of a deleted application: %v", keys)
	}
}

func (b *bundle) testOIDCUserDeleteCascades(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s, at := f.s, f.at
	keep := mustCreateUser(t, s, f.in.ID, f.org.ID)
	gone, kept := newRefreshToken(f.in.ID, f.user.ID, "web", "fam-1", at), newRefreshToken(f.in.ID, keep.ID, "web", "fam-2", at)
	must0(t, s.RefreshTokenCreate(ctx, &store.RefreshTokenCreateParams{Token: gone}))
	must0(t, s.RefreshTokenCreate(ctx, &store.RefreshTokenCreateParams{Token: kept}))
	dev, pending := newDeviceAuth(f.in.ID, "UUUU-UUUU", at), newDeviceAuth(f.in.ID, "PPPP-PPPP", at)
	must0(t, s.DeviceAuthorizationCreate(ctx, &store.DeviceAuthorizationCreateParams{Auth: dev, Now: at}))
	must0(t, s.DeviceAuthorizationCreate(ctx, &store.DeviceAuthorizationCreateParams{Auth: pending, Now: at}))
	must0(t, s.DeviceAuthorizationDecide(ctx, &store.DeviceAuthorizationDecideParams{InstanceID: f.in.ID, UserCode: dev.UserCode,
		Approve: true, UserID: f.user.ID, AuthTime: at, Now: at}))
	req := newAuthRequest(f.in.ID, at)
	must0(t, s.AuthRequestCreate(ctx, &store.AuthRequestCreateParams{Request: req}))
	must0(t, s.AuthRequestComplete(ctx, &store.AuthRequestCompleteParams{InstanceID: f.in.ID, ID: req.ID, UserID: f.user.ID, AuthTime: at, Now: at}))

	must0(t, s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: f.in.ID, ID: f.user.ID, Version: f.user.Version}))
	_, err := s.RefreshTokenGetByHash(ctx, &store.RefreshTokenGetByHashParams{InstanceID: f.in.ID, TokenHash: gone.TokenHash})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.DeviceAuthorizationPoll(ctx, &store.DeviceAuthorizationPollParams{InstanceID: f.in.ID, ClientID: "tv", DeviceCodeHash: dev.DeviceCodeHash, Now: at})
	wantErr(t, err, store.ErrNotFound)
	_, err = s.AuthRequestGet(ctx, &store.AuthRequestGetParams{InstanceID: f.in.ID, ID: req.ID, Now: at})
	wantErr(t, err, store.ErrNotFound)
	// Rows of other users, and pending ones without a user, stay.
	must[*iam.RefreshToken](t)(s.RefreshTokenGetByHash(ctx, &store.RefreshTokenGetByHashParams{InstanceID: f.in.ID, TokenHash: kept.TokenHash}))
	must[*iam.DeviceAuthorization](t)(s.DeviceAuthorizationGetByUserCode(ctx, &store.DeviceAuthorizationGetByUserCodeParams{InstanceID: f.in.ID, UserCode: pending.UserCode, Now: at}))
}

// testProjectAudience: a project's role assertion and the sorted client IDs
// of its active applications, in one statement, within the instance only.
func (b *bundle) testProjectAudience(t *testing.T) {
	t.Parallel()
	f, ctx := b.oidcFixture(t), t.Context()
	s := f.s
	get := func(instanceID, projectID string) (*store.ProjectAudience, error) {
		return s.ProjectAudience(ctx, &store.ProjectAudienceParams{InstanceID: instanceID, ProjectID: projectID})
	}
	p := &iam.Project{ID: iam.NewID(), InstanceID: f.in.ID, OrgID: f.org.ID, Name: "Asserting", RoleAssertion: true, State: iam.StateActive}
	p = must[*iam.Project](t)(s.ProjectCreate(ctx, &store.ProjectCreateParams{Project: p, Now: now()}))
	empty := must[*store.ProjectAudience](t)(get(f.in.ID, p.ID))
	if !empty.RoleAssertion || len(empty.ClientIDs) != 0 || empty.ProjectID != p.ID {
		t.Fatalf("project without applications = %+v", empty)
	}
	var want []string
	for _, id := range []string{"zeta", "alpha", "Mid"} {
		a := newApp(f.in.ID, f.org.ID, p.ID)
		a.ClientID = id + "-" + p.ID
		must[*iam.Application](t)(s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: a, Now: now()}))
		want = append(want, a.ClientID)
	}
	inactive := newApp(f.in.ID, f.org.ID, p.ID)
	inactive.State = iam.StateInactive
	must[*iam.Application](t)(s.ApplicationCreate(ctx, &store.ApplicationCreateParams{Application: inactive, Now: now()}))
	other := mustCreateProject(t, s, f.in.ID, f.org.ID)
	mustCreateApp(t, s, f.in.ID, f.org.ID, other.ID)
	slices.Sort(want)
	got := must[*store.ProjectAudience](t)(get(f.in.ID, p.ID))
	sameValue(t, "client IDs", got.ClientIDs, want)
	if other := must[*store.ProjectAudience](t)(get(f.in.ID, other.ID)); other.RoleAssertion || len(other.ClientIDs) != 1 {
		t.Fatalf("other project = %+v", other)
	}
	_, err := get(f.other.ID, p.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = get(f.in.ID, iam.NewID())
	wantErr(t, err, store.ErrNotFound)
}
