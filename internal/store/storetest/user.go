package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

func newHuman(instanceID, orgID, login, email string) *iam.User {
	return &iam.User{
		ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, Type: iam.UserHuman, LoginName: login, State: iam.UserActive,
		Human: &iam.HumanProfile{Email: email, GivenName: "Given", FamilyName: "Family", PreferredLanguage: "de-CH"},
	}
}

func newMachine(instanceID, orgID, login string) *iam.User {
	return &iam.User{
		ID: iam.NewID(), InstanceID: instanceID, OrgID: orgID, Type: iam.UserMachine, LoginName: login, State: iam.UserActive,
		Machine: &iam.MachineProfile{Name: "Robot", Description: "does things"},
	}
}

// mustCreateUser stores an active human user with a unique login name in
// the organization, for tests of data that refers to users.
func mustCreateUser(t *testing.T, s store.Queries, instanceID, orgID string) *iam.User {
	t.Helper()
	id := iam.NewID()
	u := newHuman(instanceID, orgID, "user-"+id, "user-"+id+"@example.com")
	u.ID = id
	return must[*iam.User](t)(s.UserCreate(t.Context(), &store.UserCreateParams{User: u, Now: now()}))
}

func userIDs(users []*iam.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

func sameUser(t *testing.T, got, want *iam.User) {
	t.Helper()
	flat := func(u *iam.User) string {
		c := *u
		c.CreatedAt, c.ChangedAt, c.Version, c.Human, c.Machine = time.Time{}, time.Time{}, 0, nil, nil
		return fmt.Sprintf("%+v human=%+v machine=%+v", c, u.Human, u.Machine)
	}
	if flat(got) != flat(want) || !bytes.Equal(got.SecretHash, want.SecretHash) {
		t.Fatalf("user = %s,\nwant %s", flat(got), flat(want))
	}
}

// testUsers covers the store methods for users and their credentials.
func (b *bundle) testUsers(t *testing.T) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o, o2 := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
		at := now()
		h := newHuman(in.ID, o.ID, "Alice", "Alice@Example.com")
		h.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		h.Human.EmailVerified, h.Human.PasswordChangeRequired = true, true
		got := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: h, Now: at}))
		sameUser(t, got, h)
		if got.Version != 1 || !got.CreatedAt.Equal(at) || !got.ChangedAt.Equal(at) || got.Machine != nil || got.SecretHash != nil {
			t.Fatalf("created = %+v", got)
		}
		m := newMachine(in.ID, o.ID, "robot")
		m.SecretHash = []byte{1, 2, 3}
		gotM := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: m, Now: at}))
		sameUser(t, gotM, m)
		if gotM.Human != nil {
			t.Fatal("machine user has a human profile")
		}

		sameUser(t, must[*iam.User](t)(s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, ID: h.ID})), h)
		sameUser(t, must[*iam.User](t)(s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, OrgID: o.ID, ID: m.ID})), m)
		_, err := s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, OrgID: o2.ID, ID: h.ID})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, ID: iam.NewID()})
		wantErr(t, err, store.ErrNotFound)

		for _, login := range []string{"alice", "ALICE", "Alice"} {
			sameUser(t, must[*iam.User](t)(s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: login})), h)
		}
		_, err = s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: "bob"})
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("UniqueKeys", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in, other := b.instance(t, s), b.instance(t, s)
		o, oo := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, other.ID)
		a := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newHuman(in.ID, o.ID, "alice", "a@example.com"), Now: now()}))
		// Same login name in any case, even in another organization.
		_, err := s.UserCreate(ctx, &store.UserCreateParams{User: newMachine(in.ID, mustCreateOrg(t, s, in.ID).ID, "ALICE"), Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		dup := newHuman(in.ID, o.ID, "bob", "b@example.com")
		dup.ID = a.ID
		_, err = s.UserCreate(ctx, &store.UserCreateParams{User: dup, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
		// Fine in another instance.
		must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newHuman(other.ID, oo.ID, "Alice", "a@example.com"), Now: now()}))
		// An organization of another instance cannot be referenced.
		_, err = s.UserCreate(ctx, &store.UserCreateParams{User: newHuman(in.ID, oo.ID, "carol", "c@example.com"), Now: now()})
		if err == nil {
			t.Fatal("user created in an organization of another instance")
		}
		// Renaming onto a taken login name.
		bob := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newHuman(in.ID, o.ID, "bob", "b@example.com"), Now: now()}))
		bob.LoginName = "Alice"
		_, err = s.UserUpdate(ctx, &store.UserUpdateParams{User: bob, Now: now()})
		wantErr(t, err, store.ErrAlreadyExists)
	})
	t.Run("UpdateAndVersions", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o := mustCreateOrg(t, s, in.ID)
		h := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newHuman(in.ID, o.ID, "alice", "a@example.com"), Now: now()}))
		later := now().Add(time.Second)
		upd := h.Clone()
		upd.LoginName, upd.State = "Alice.Smith", iam.UserLocked
		upd.Human = &iam.HumanProfile{Email: "Smith@Example.com", EmailVerified: true, GivenName: "Alice", FamilyName: "Smith", PreferredLanguage: "en"}
		got := must[*iam.User](t)(s.UserUpdate(ctx, &store.UserUpdateParams{User: upd, Now: later}))
		want := upd.Clone()
		sameUser(t, got, want)
		if got.Version != 2 || !got.ChangedAt.Equal(later) || !got.CreatedAt.Equal(h.CreatedAt) {
			t.Fatalf("updated = %+v", got)
		}
		sameUser(t, must[*iam.User](t)(s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: "alice.smith"})), want)
		_, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: "alice"})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserUpdate(ctx, &store.UserUpdateParams{User: upd, Now: later})
		wantErr(t, err, store.ErrConflict)

		// Password: versioned or unconditional (Version 0).
		_, err = s.UserSetPassword(ctx, &store.UserSetPasswordParams{InstanceID: in.ID, ID: h.ID, Hash: "x", Version: 1, Now: later})
		wantErr(t, err, store.ErrConflict)
		got = must[*iam.User](t)(s.UserSetPassword(ctx, &store.UserSetPasswordParams{InstanceID: in.ID, ID: h.ID, Hash: "$2a$10$hash", ChangeRequired: true, Version: 2, Now: later}))
		if got.PasswordHash != "$2a$10$hash" || !got.Human.PasswordChangeRequired || got.Version != 3 || got.Human.GivenName != "Alice" {
			t.Fatalf("after set password = %+v %+v", got, got.Human)
		}
		got = must[*iam.User](t)(s.UserSetPassword(ctx, &store.UserSetPasswordParams{InstanceID: in.ID, ID: h.ID, Hash: "new", Now: later}))
		if got.PasswordHash != "new" || got.Human.PasswordChangeRequired || got.Version != 4 {
			t.Fatalf("after unconditional set password = %+v %+v", got, got.Human)
		}

		m := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newMachine(in.ID, o.ID, "robot"), Now: now()}))
		um := m.Clone()
		um.LoginName, um.Machine = "robot-2", &iam.MachineProfile{Name: "R2", Description: "astromech"}
		got = must[*iam.User](t)(s.UserUpdate(ctx, &store.UserUpdateParams{User: um, Now: later}))
		sameUser(t, got, um)
		got = must[*iam.User](t)(s.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: in.ID, ID: m.ID, Hash: []byte("hash"), Version: 2, Now: later}))
		if string(got.SecretHash) != "hash" || got.Version != 3 {
			t.Fatalf("after set secret = %+v", got)
		}
		got = must[*iam.User](t)(s.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: in.ID, ID: m.ID, Now: later}))
		if got.SecretHash != nil || got.Version != 4 {
			t.Fatalf("after remove secret = %+v", got)
		}
		_, err = s.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: in.ID, ID: m.ID, Version: 3, Now: later})
		wantErr(t, err, store.ErrConflict)

		err = s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: in.ID, ID: m.ID, Version: 3})
		wantErr(t, err, store.ErrConflict)
		if err := s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: in.ID, ID: m.ID, Version: 4}); err != nil {
			t.Fatal(err)
		}
		_, err = s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, ID: m.ID})
		wantErr(t, err, store.ErrNotFound)
		err = s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: in.ID, ID: m.ID, Version: 4})
		wantErr(t, err, store.ErrNotFound)
		ghost := upd.Clone()
		ghost.ID = iam.NewID()
		_, err = s.UserUpdate(ctx, &store.UserUpdateParams{User: ghost, Now: later})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserSetPassword(ctx, &store.UserSetPasswordParams{InstanceID: in.ID, ID: ghost.ID, Hash: "x", Now: later})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: in.ID, ID: ghost.ID, Now: later})
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("CrossInstanceIsolation", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		a, bi := b.instance(t, s), b.instance(t, s)
		o := mustCreateOrg(t, s, a.ID)
		u := mustCreateUser(t, s, a.ID, o.ID)
		tok := must[*iam.PersonalAccessToken](t)(s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
			Token: &iam.PersonalAccessToken{ID: iam.NewID(), InstanceID: a.ID, UserID: u.ID, TokenHash: []byte("secret-hash"), ExpiresAt: now().Add(time.Hour)}, Now: now()}))
		key := must[*iam.MachineKey](t)(s.MachineKeyCreate(ctx, &store.MachineKeyCreateParams{
			Key: &iam.MachineKey{ID: iam.NewID(), InstanceID: a.ID, UserID: u.ID, PublicKeyPEM: "pem", ExpiresAt: now().Add(time.Hour)}, Now: now()}))

		_, err := s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: bi.ID, ID: u.ID})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: bi.ID, LoginName: u.LoginName})
		wantErr(t, err, store.ErrNotFound)
		for _, p := range []*store.UserListParams{{InstanceID: bi.ID}, {InstanceID: bi.ID, OrgID: o.ID}, {InstanceID: bi.ID, LoginNamePrefix: "user"}, {InstanceID: bi.ID, EmailPrefix: "user"}} {
			if l := must[[]*iam.User](t)(s.UserList(ctx, p)); len(l) != 0 {
				t.Fatalf("list %+v through other instance = %v", p, userIDs(l))
			}
		}
		moved := u.Clone()
		moved.InstanceID, moved.LoginName = bi.ID, "hijacked"
		_, err = s.UserUpdate(ctx, &store.UserUpdateParams{User: moved, Now: now()})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserSetPassword(ctx, &store.UserSetPasswordParams{InstanceID: bi.ID, ID: u.ID, Hash: "x", Now: now()})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.UserSetSecretHash(ctx, &store.UserSetSecretHashParams{InstanceID: bi.ID, ID: u.ID, Hash: []byte("x"), Now: now()})
		wantErr(t, err, store.ErrNotFound)
		err = s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: bi.ID, ID: u.ID, Version: u.Version})
		wantErr(t, err, store.ErrNotFound)

		_, _, err = s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: bi.ID, Hash: tok.TokenHash})
		wantErr(t, err, store.ErrNotFound)
		if l := must[[]*iam.PersonalAccessToken](t)(s.PersonalAccessTokenList(ctx, &store.PersonalAccessTokenListParams{InstanceID: bi.ID, UserID: u.ID})); len(l) != 0 {
			t.Fatal("tokens listed through other instance")
		}
		wantErr(t, s.PersonalAccessTokenDelete(ctx, &store.PersonalAccessTokenDeleteParams{InstanceID: bi.ID, UserID: u.ID, ID: tok.ID}), store.ErrNotFound)
		_, err = s.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: bi.ID, ID: key.ID})
		wantErr(t, err, store.ErrNotFound)
		if l := must[[]*iam.MachineKey](t)(s.MachineKeyList(ctx, &store.MachineKeyListParams{InstanceID: bi.ID, UserID: u.ID})); len(l) != 0 {
			t.Fatal("keys listed through other instance")
		}
		wantErr(t, s.MachineKeyDelete(ctx, &store.MachineKeyDeleteParams{InstanceID: bi.ID, UserID: u.ID, ID: key.ID}), store.ErrNotFound)
		// A token cannot be attached to a user of another instance.
		_, err = s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
			Token: &iam.PersonalAccessToken{ID: iam.NewID(), InstanceID: bi.ID, UserID: u.ID, TokenHash: []byte("other"), ExpiresAt: now()}, Now: now()})
		if err == nil {
			t.Fatal("token created for a user of another instance")
		}

		// Everything is unchanged in the owning instance.
		sameUser(t, must[*iam.User](t)(s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: a.ID, ID: u.ID})), u)
		gt, gu := must2[*iam.PersonalAccessToken, *iam.User](t)(s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: a.ID, Hash: tok.TokenHash}))
		if gt.ID != tok.ID || gu.ID != u.ID {
			t.Fatalf("token lookup = %+v / %+v", gt, gu)
		}
		must[*iam.MachineKey](t)(s.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: a.ID, ID: key.ID}))
	})
	t.Run("ListPrefixesAndPages", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o1, o2 := mustCreateOrg(t, s, in.ID), mustCreateOrg(t, s, in.ID)
		type spec struct {
			login, email string
			org          string
			machine      bool
			state        iam.UserState
		}
		specs := []spec{
			{"Anna", "zed@example.com", o1.ID, false, iam.UserActive},
			{"anna.b", "Anna@corp.example", o1.ID, false, iam.UserInactive},
			{"ANNABEL", "annabel@corp.example", o2.ID, false, iam.UserActive},
			{"ann", "x@corp.example", o2.ID, false, iam.UserLocked},
			{"bob", "anna.bob@example.com", o1.ID, false, iam.UserActive},
			{"annbot", "", o1.ID, true, iam.UserActive},
			{"anna😀", "emoji@example.com", o2.ID, false, iam.UserActive},
		}
		ids := map[string]string{}
		var all []string
		for _, sp := range specs {
			var u *iam.User
			if sp.machine {
				u = newMachine(in.ID, sp.org, sp.login)
			} else {
				u = newHuman(in.ID, sp.org, sp.login, sp.email)
			}
			u.State = sp.state
			must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: u, Now: now()}))
			ids[sp.login] = u.ID
			all = append(all, u.ID)
		}
		pages := func(p store.UserListParams, size int, key func(*iam.User) string) []string {
			t.Helper()
			p.Limit = size
			var got []string
			for range 100 {
				page := must[[]*iam.User](t)(s.UserList(ctx, &p))
				got = append(got, userIDs(page)...)
				if len(page) < size {
					return got
				}
				last := page[len(page)-1]
				p.AfterKey, p.AfterID = key(last), last.ID
			}
			t.Fatal("pagination does not end")
			return nil
		}
		byLogin := func(u *iam.User) string { return strings.ToLower(u.LoginName) }
		byEmail := func(u *iam.User) string { return strings.ToLower(u.Human.Email) }
		byID := func(*iam.User) string { return "" }
		for _, tc := range []struct {
			name string
			p    store.UserListParams
			key  func(*iam.User) string
			want []string
		}{
			{"all by id", store.UserListParams{}, byID, sortedCopy(all)},
			{"login prefix", store.UserListParams{LoginNamePrefix: "ANN"}, byLogin,
				[]string{ids["ann"], ids["Anna"], ids["anna.b"], ids["ANNABEL"], ids["anna😀"], ids["annbot"]}},
			{"login prefix anna", store.UserListParams{LoginNamePrefix: "anna"}, byLogin,
				[]string{ids["Anna"], ids["anna.b"], ids["ANNABEL"], ids["anna😀"]}},
			{"login prefix in org", store.UserListParams{OrgID: o2.ID, LoginNamePrefix: "ann"}, byLogin,
				[]string{ids["ann"], ids["ANNABEL"], ids["anna😀"]}},
			{"email prefix", store.UserListParams{EmailPrefix: "ANNA"}, byEmail,
				[]string{ids["bob"], ids["anna.b"], ids["ANNABEL"]}}, // "anna." < "anna@" < "annab"
			{"email prefix and state", store.UserListParams{EmailPrefix: "anna", State: iam.UserActive}, byEmail,
				[]string{ids["bob"], ids["ANNABEL"]}},
			{"machines", store.UserListParams{Type: iam.UserMachine}, byID, []string{ids["annbot"]}},
			{"org and type", store.UserListParams{OrgID: o1.ID, Type: iam.UserHuman}, byID,
				sortedCopy([]string{ids["Anna"], ids["anna.b"], ids["bob"]})},
			{"locked", store.UserListParams{State: iam.UserLocked}, byID, []string{ids["ann"]}},
			{"no match", store.UserListParams{LoginNamePrefix: "zz"}, byLogin, nil},
		} {
			tc.p.InstanceID = in.ID
			for _, size := range []int{1, 2, 100} {
				got := pages(tc.p, size, tc.key)
				sameIDs(t, fmt.Sprintf("%s (page size %d)", tc.name, size), got, tc.want)
			}
		}
	})
	t.Run("CreateMany", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o := mustCreateOrg(t, s, in.ID)
		const n = 1234
		users := make([]*iam.User, n)
		for i := range users {
			if i%10 == 0 {
				users[i] = newMachine(in.ID, o.ID, fmt.Sprintf("bot-%05d", i))
				users[i].SecretHash = []byte{byte(i)}
			} else {
				users[i] = newHuman(in.ID, o.ID, fmt.Sprintf("User-%05d", i), fmt.Sprintf("u%05d@example.com", i))
			}
		}
		at := now()
		if err := s.UserCreateMany(ctx, &store.UserCreateManyParams{Users: users, Now: at}); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, 499, 500, 501, n - 1} {
			got := must[*iam.User](t)(s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: strings.ToUpper(users[i].LoginName)}))
			sameUser(t, got, users[i])
			if got.Version != 1 || !got.CreatedAt.Equal(at) {
				t.Fatalf("bulk user %d = %+v", i, got)
			}
		}
		list := must[[]*iam.User](t)(s.UserList(ctx, &store.UserListParams{InstanceID: in.ID, LoginNamePrefix: "user-", Limit: 1000}))
		if len(list) != 1000 {
			t.Fatalf("listed %d users, want 1000", len(list))
		}
		// All or nothing: one duplicate login name rejects the batch.
		more := []*iam.User{newHuman(in.ID, o.ID, "fresh", "f@example.com"), newHuman(in.ID, o.ID, "user-00001", "d@example.com")}
		wantErr(t, s.UserCreateMany(ctx, &store.UserCreateManyParams{Users: more, Now: at}), store.ErrAlreadyExists)
		_, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: in.ID, LoginName: "fresh"})
		wantErr(t, err, store.ErrNotFound)
		if err := s.UserCreateMany(ctx, &store.UserCreateManyParams{Now: at}); err != nil {
			t.Fatalf("empty bulk insert: %v", err)
		}
	})
	t.Run("PersonalAccessTokens", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o := mustCreateOrg(t, s, in.ID)
		u, other := mustCreateUser(t, s, in.ID, o.ID), mustCreateUser(t, s, in.ID, o.ID)
		at, exp := now(), now().Add(48*time.Hour)
		var ids []string
		for i := range 5 {
			tok := &iam.PersonalAccessToken{ID: iam.NewID(), InstanceID: in.ID, UserID: u.ID, TokenHash: []byte(fmt.Sprintf("hash-%d", i)), ExpiresAt: exp}
			got := must[*iam.PersonalAccessToken](t)(s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{Token: tok, Now: at}))
			if got.ID != tok.ID || got.UserID != u.ID || !bytes.Equal(got.TokenHash, tok.TokenHash) || !got.ExpiresAt.Equal(exp) || !got.CreatedAt.Equal(at) {
				t.Fatalf("created token = %+v", got)
			}
			ids = append(ids, tok.ID)
		}
		_, err := s.PersonalAccessTokenCreate(ctx, &store.PersonalAccessTokenCreateParams{
			Token: &iam.PersonalAccessToken{ID: iam.NewID(), InstanceID: in.ID, UserID: other.ID, TokenHash: []byte("hash-0"), ExpiresAt: exp}, Now: at})
		wantErr(t, err, store.ErrAlreadyExists)

		tok, usr := must2[*iam.PersonalAccessToken, *iam.User](t)(s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: in.ID, Hash: []byte("hash-3")}))
		if tok.ID != ids[3] || !tok.ExpiresAt.Equal(exp) {
			t.Fatalf("token = %+v", tok)
		}
		sameUser(t, usr, u)
		_, _, err = s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: in.ID, Hash: []byte("nope")})
		wantErr(t, err, store.ErrNotFound)

		var got []string
		after := ""
		for {
			page := must[[]*iam.PersonalAccessToken](t)(s.PersonalAccessTokenList(ctx, &store.PersonalAccessTokenListParams{InstanceID: in.ID, UserID: u.ID, AfterID: after, Limit: 2}))
			for _, p := range page {
				got = append(got, p.ID)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		sameIDs(t, "tokens", got, sortedCopy(ids))
		if l := must[[]*iam.PersonalAccessToken](t)(s.PersonalAccessTokenList(ctx, &store.PersonalAccessTokenListParams{InstanceID: in.ID, UserID: other.ID})); len(l) != 0 {
			t.Fatal("other user has tokens")
		}
		wantErr(t, s.PersonalAccessTokenDelete(ctx, &store.PersonalAccessTokenDeleteParams{InstanceID: in.ID, UserID: other.ID, ID: ids[0]}), store.ErrNotFound)
		if err := s.PersonalAccessTokenDelete(ctx, &store.PersonalAccessTokenDeleteParams{InstanceID: in.ID, UserID: u.ID, ID: ids[0]}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.PersonalAccessTokenDelete(ctx, &store.PersonalAccessTokenDeleteParams{InstanceID: in.ID, UserID: u.ID, ID: ids[0]}), store.ErrNotFound)
		_, _, err = s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: in.ID, Hash: []byte("hash-0")})
		wantErr(t, err, store.ErrNotFound)

		// Deleting the user deletes its tokens.
		cur := must[*iam.User](t)(s.UserGetByID(ctx, &store.UserGetByIDParams{InstanceID: in.ID, ID: u.ID}))
		if err := s.UserDelete(ctx, &store.UserDeleteParams{InstanceID: in.ID, ID: u.ID, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.PersonalAccessTokenGetByHash(ctx, &store.PersonalAccessTokenGetByHashParams{InstanceID: in.ID, Hash: []byte("hash-1")})
		wantErr(t, err, store.ErrNotFound)
	})
	t.Run("MachineKeys", func(t *testing.T) {
		t.Parallel()
		s, ctx := b.open(t), t.Context()
		in := b.instance(t, s)
		o := mustCreateOrg(t, s, in.ID)
		u := must[*iam.User](t)(s.UserCreate(ctx, &store.UserCreateParams{User: newMachine(in.ID, o.ID, "robot"), Now: now()}))
		other := mustCreateUser(t, s, in.ID, o.ID)
		at, exp := now(), now().Add(time.Hour)
		var ids []string
		for i := range 3 {
			k := &iam.MachineKey{ID: iam.NewID(), InstanceID: in.ID, UserID: u.ID, PublicKeyPEM: fmt.Sprintf("pem-%d", i), ExpiresAt: exp}
			got := must[*iam.MachineKey](t)(s.MachineKeyCreate(ctx, &store.MachineKeyCreateParams{Key: k, Now: at}))
			if *got != (iam.MachineKey{ID: k.ID, InstanceID: in.ID, UserID: u.ID, PublicKeyPEM: k.PublicKeyPEM, ExpiresAt: exp, CreatedAt: at}) {
				t.Fatalf("created key = %+v", got)
			}
			ids = append(ids, k.ID)
		}
		_, err := s.MachineKeyCreate(ctx, &store.MachineKeyCreateParams{Key: &iam.MachineKey{ID: ids[0], InstanceID: in.ID, UserID: u.ID, PublicKeyPEM: "x", ExpiresAt: exp}, Now: at})
		wantErr(t, err, store.ErrAlreadyExists)
		k := must[*iam.MachineKey](t)(s.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: in.ID, UserID: u.ID, ID: ids[1]}))
		if k.PublicKeyPEM != "pem-1" {
			t.Fatalf("key = %+v", k)
		}
		_, err = s.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: in.ID, UserID: other.ID, ID: ids[1]})
		wantErr(t, err, store.ErrNotFound)
		page1 := must[[]*iam.MachineKey](t)(s.MachineKeyList(ctx, &store.MachineKeyListParams{InstanceID: in.ID, UserID: u.ID, Limit: 2}))
		page2 := must[[]*iam.MachineKey](t)(s.MachineKeyList(ctx, &store.MachineKeyListParams{InstanceID: in.ID, UserID: u.ID, AfterID: page1[1].ID, Limit: 2}))
		var got []string
		for _, k := range append(page1, page2...) {
			got = append(got, k.ID)
		}
		sameIDs(t, "keys", got, sortedCopy(ids))
		wantErr(t, s.MachineKeyDelete(ctx, &store.MachineKeyDeleteParams{InstanceID: in.ID, UserID: other.ID, ID: ids[0]}), store.ErrNotFound)
		if err := s.MachineKeyDelete(ctx, &store.MachineKeyDeleteParams{InstanceID: in.ID, UserID: u.ID, ID: ids[0]}); err != nil {
			t.Fatal(err)
		}
		_, err = s.MachineKeyGetByID(ctx, &store.MachineKeyGetByIDParams{InstanceID: in.ID, ID: ids[0]})
		wantErr(t, err, store.ErrNotFound)
	})
}

func must2[A, B any](t *testing.T) func(a A, b B, err error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
