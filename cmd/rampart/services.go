package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rampartiam/rampart/internal/api"
	"github.com/rampartiam/rampart/internal/api/policyapi"
	"github.com/rampartiam/rampart/internal/api/projectapi"
	"github.com/rampartiam/rampart/internal/api/settingsapi"
	"github.com/rampartiam/rampart/internal/api/userapi"
	"github.com/rampartiam/rampart/internal/bootstrap"
	"github.com/rampartiam/rampart/internal/cache"
	"github.com/rampartiam/rampart/internal/config"
	"github.com/rampartiam/rampart/internal/crypto"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/mail"
	"github.com/rampartiam/rampart/internal/member"
	"github.com/rampartiam/rampart/internal/mfa"
	"github.com/rampartiam/rampart/internal/oidc"
	"github.com/rampartiam/rampart/internal/org"
	"github.com/rampartiam/rampart/internal/policy"
	"github.com/rampartiam/rampart/internal/project"
	"github.com/rampartiam/rampart/internal/server"
	"github.com/rampartiam/rampart/internal/session"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/tenant"
	"github.com/rampartiam/rampart/internal/user"
)

// newServices wires the services on a store: plain constructor calls.
// caches may be the zero cache.Config (no caching), as for one-shot CLI
// commands.
func newServices(cfg *config.Config, st store.Store, kr *crypto.Keyring, log *slog.Logger, caches cache.Config) bootstrap.Services {
	secrets := crypto.NewSecretHasher(kr)
	return bootstrap.Services{
		Store:     st,
		Secrets:   secrets,
		Instances: instance.New(st, nil, instance.WithCache(caches)),
		Orgs:      org.New(st, nil),
		Users:     user.New(st, user.Options{Secrets: secrets, Passwords: cfg.PasswordHash.Hasher()}),
		Projects:  project.New(st, project.Options{Secrets: secrets, Cache: caches}),
		Members:   member.New(st, nil),
		Policies:  policy.New(st, policy.Options{Cache: caches}),
		Log:       log,
	}
}

// mountAPI mounts the admin API on the server behind instance resolution.
// Its callers authenticate with personal access tokens or with OIDC access
// tokens for the admin audience.
func mountAPI(srv *server.Server, svc bootstrap.Services, p *oidc.Provider, mailer *mail.Service, factors *mfa.Service, nodes api.NodeLister, log *slog.Logger) {
	api.Mount(api.Options{
		Instances:     svc.Instances,
		Members:       svc.Members,
		Audit:         svc.Store,
		Authenticate:  p.AdminAuthenticator(svc.Users.AuthenticatePAT),
		Organizations: userapi.NewOrganizationServer(svc.Orgs),
		Users:         userapi.NewUserServer(svc.Users),
		Projects:      projectapi.NewProjectServer(svc.Projects),
		Applications:  projectapi.NewApplicationServer(svc.Projects),
		UserGrants:    projectapi.NewUserGrantServer(svc.Projects),
		Policies:      policyapi.NewPolicyServer(svc.Policies),
		Settings:      settingsapi.NewInstanceSettingsServer(mailer),
		UserFactors:   userapi.NewUserFactorServer(factors, svc.Users, session.New(svc.Store, session.Options{Secrets: svc.Secrets})),
		Cluster:       nodes,
		Logger:        log,
		RequestID:     server.RequestID,
	}, func(pattern string, h http.Handler) {
		srv.Handle(pattern, withTenant(svc.Instances, p.WithIssuer(h), log))
	})
}

// withTenant resolves the request's instance from its Host.
func withTenant(instances *instance.Service, h http.Handler, log *slog.Logger) http.Handler {
	return tenant.Middleware(instances.GetByHost, h,
		tenant.WithLister(func(ctx context.Context, limit int) ([]*iam.Instance, error) {
			return instances.List(ctx, "", limit, "")
		}),
		tenant.WithLogger(log))
}
