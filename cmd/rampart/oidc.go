package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rampartiam/rampart/internal/bootstrap"
	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/login"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/server"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/token"
)

// newOIDC wires the OpenID Provider: the token service, the signing keys
// (reloaded on every node when the leader rotates them) and the provider.
func newOIDC(cfg *config.Config, st store.Store, kr *crypto.Keyring, svc bootstrap.Services, bus *cache.Bus, log *slog.Logger) (*oidc.Provider, *token.Keys, *token.Service, error) {
	tokens := token.New(st, svc.Secrets, nil, log)
	keys := token.NewKeys(st, kr, token.KeyOptions{
		Algorithm: cfg.OIDC.SigningAlgorithm, Rotation: cfg.OIDC.KeyRotation, Lead: cfg.OIDC.KeyLead, Refresh: cfg.Cache.TTL,
	}, nil, log)
	bus.Handle(store.TopicSigningKeys, keys.Invalidate)
	bus.Attach(keys)
	p, err := oidc.New(oidc.Options{
		Users: svc.Users, Projects: svc.Projects, Tokens: tokens, Keys: keys, Keyring: kr, Secrets: svc.Secrets,
		ExternalURL: cfg.ResolvedExternalURL(), Log: log,
	})
	return p, keys, tokens, err
}

// keyCheckInterval is how often the job leader checks whether a signing
// key must be created: often enough that a successor is published well
// within the lead time.
func keyCheckInterval(cfg *config.Config) time.Duration {
	return min(time.Hour, max(time.Second, cfg.OIDC.KeyLead/4))
}

// mountOIDC mounts the provider's endpoints and the hosted login pages
// behind instance resolution.
func mountOIDC(srv *server.Server, svc bootstrap.Services, p *oidc.Provider, tokens *token.Service, factors *mfa.Service, mailer *mail.Service, keyring *crypto.Keyring, externalURL string, log *slog.Logger) error {
	pages, err := login.New(login.Options{
		AuthRequests: tokens, Users: svc.Users, Apps: svc.Projects, CallbackURL: p.CallbackURL, Log: log,
		Sessions:      session.New(svc.Store, session.Options{Secrets: svc.Secrets}),
		Factors:       factors,
		Keyring:       keyring,
		Mail:          mailer,
		SecureCookies: strings.HasPrefix(externalURL, "https://"),
		Policies: func(ctx context.Context, instanceID, orgID string) *iam.Policies {
			pol, err := svc.Policies.GetEffective(ctx, instanceID, orgID)
			if err != nil {
				log.Warn("reading the login policies failed; using the defaults", "instance", instanceID, "err", err)
				return nil
			}
			return pol
		},
	})
	if err != nil {
		return err
	}
	routes := p.Routes()
	// RP-initiated logout ends the browser's login session too.
	routes[oidc.PathEndSession] = pages.EndSession(routes["/oauth/"])
	for _, routes := range []map[string]http.Handler{routes, pages.Routes()} {
		for pattern, h := range routes {
			srv.Handle(pattern, withTenant(svc.Instances, h, log))
		}
	}
	return nil
}
