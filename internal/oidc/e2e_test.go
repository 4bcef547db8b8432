package oidc_test

import (
	"testing"
)

// TestProvider drives the OpenID Provider end to end over HTTP with real
// client libraries (go-oidc, x/oauth2, go-jose) on both backends. Each
// backend gets one harness with two instances: A, fully seeded, and B,
// whose only purpose is to be the foreign issuer. The cases run in
// parallel on the shared harness and never change what another case
// relies on (each uses its own users or tokens where it revokes or
// deactivates something).
func TestProvider(t *testing.T) {
	t.Parallel()
	forEachBackend(t, harnessOptions{}, func(t *testing.T, h *harness) {
		a := h.seed(t, "A", "tenant-a.test", false)
		b := h.seed(t, "B", "tenant-b.test", true)
		cases := []struct {
			name string
			fn   func(t *testing.T, a, b *world)
		}{
			{"CodeFlow", testCodeFlow},
			{"CodeFlowNegative", testCodeFlowNegative},
			{"LoginPage", testLoginPage},
			{"RefreshRotation", testRefreshRotation},
			{"ClientCredentials", testClientCredentials},
			{"JWTBearer", testJWTBearer},
			{"DeviceFlow", testDeviceFlow},
			{"Introspection", testIntrospection},
			{"Revocation", testRevocation},
			{"DeactivatedUser", testDeactivatedUser},
			{"ForeignIssuer", testForeignIssuer},
			{"EndSession", testEndSession},
			{"AdminAPI", testAdminAPI},
			{"TokenEndpointErrors", testTokenEndpointErrors},
			{"RoundTrips", testRoundTrips},
			{"DiscoveryGolden", testDiscoveryGolden},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.fn(t, a, b)
			})
		}
	})
}
