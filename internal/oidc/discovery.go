package oidc

import (
	"context"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// assertionAlgs are the algorithms client assertions (private_key_jwt) and
// JWT bearer assertions may be signed with: what the library verifies
// (RS256, ES256, PS256), independent of the provider's own signing keys.
var assertionAlgs = []string{"RS256", "ES256", "PS256"}

// Discovery is the library's discovery document, corrected where it
// describes the provider's own keys instead of what the endpoints accept:
// the client-assertion algorithms, client_secret_post at introspection,
// and the claims Rampart has.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	d, ok := resp.Data.(*oidc.DiscoveryConfiguration)
	if !ok {
		return resp, nil
	}
	d.TokenEndpointAuthSigningAlgValuesSupported = assertionAlgs
	d.RevocationEndpointAuthSigningAlgValuesSupported = assertionAlgs
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = assertionAlgs
	if !slices.Contains(d.IntrospectionEndpointAuthMethodsSupported, oidc.AuthMethodPost) {
		d.IntrospectionEndpointAuthMethodsSupported = append(d.IntrospectionEndpointAuthMethodsSupported, oidc.AuthMethodPost)
	}
	// Rampart keeps no phone numbers.
	d.ClaimsSupported = slices.DeleteFunc(d.ClaimsSupported, func(c string) bool { return strings.HasPrefix(c, "phone_number") })
	if !slices.Contains(d.ClaimsSupported, ClaimRoles) {
		d.ClaimsSupported = append(d.ClaimsSupported, ClaimRoles)
	}
	return resp, nil
}
