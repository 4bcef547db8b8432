package oidc

import (
	"context"

	"github.com/rampartiam/rampart/internal/iam"
)

// memo carries what one HTTP request has already loaded between the
// library's storage callbacks (which receive only IDs), so that a token
// response that builds an access token, an ID token and a refresh token
// reads the user and their roles once.
type memo struct {
	// apps holds the applications by client ID (nil: unknown or inactive).
	apps  map[string]*iam.Application
	users map[string]*iam.User
	roles map[string]map[string][]string
	// machine is the machine user authenticated by client_credentials.
	machine *iam.User
	// rawToken is the token presented to introspection or userinfo, whose
	// signature the library has verified by the time storage sees it.
	rawToken string
	// fault is a fault (the database is down…) met while deciding about
	// that token; the library would report it as an inactive token.
	fault error
}

type memoKey struct{}

func withMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, newMemo())
}

// memoFrom returns the request's memo, or a fresh one that remembers
// nothing beyond the call.
func memoFrom(ctx context.Context) *memo {
	if m, ok := ctx.Value(memoKey{}).(*memo); ok {
		return m
	}
	return newMemo()
}

func newMemo() *memo {
	return &memo{apps: map[string]*iam.Application{}, users: map[string]*iam.User{}, roles: map[string]map[string][]string{}}
}
