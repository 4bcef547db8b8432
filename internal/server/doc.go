// Package server is Rampart's HTTP server: one listener speaking HTTP/1.1 and
// h2c (cleartext HTTP/2 with prior knowledge, for gRPC and Connect clients),
// the middleware chain every request passes, the /debug endpoints and the
// graceful drain on shutdown. Transports mount their handlers on it with
// Handle; cmd/rampart creates it, calls Listen early so an occupied port is
// reported before anything else starts, and runs Serve until its context
// ends.
//
// # Middleware
//
// Outermost first:
//
//  1. Request ID: adopts an incoming X-Request-Id of 1–128 visible ASCII
//     characters, else generates 32 random hex digits; echoes it in the
//     response and exposes it through RequestID(ctx).
//  2. Panic recovery: logs the panic and stack at error level with the
//     request ID and answers 500 {"error":"internal","request_id":…} if
//     nothing was written yet; http.ErrAbortHandler passes through.
//  3. Access log: one line per request at info (debug for /debug/ probes)
//     with method, route, path, status, bytes, duration, request_id, remote.
//  4. Metrics: rampart_http_requests_total{method,route,code} and
//     rampart_http_request_duration_seconds{method,route}. route is the
//     pattern given to Handle, or "unmatched".
//
// Handlers receive a wrapped http.ResponseWriter that implements Flush and
// Unwrap; use http.ResponseController for hijacking, deadlines and the like.
//
// Requests no pattern matches get 404 {"error":"not_found","message":"no
// route for GET /x"} (405 with an Allow header for a wrong method).
//
// # Routes
//
//	GET /debug/healthz   liveness: 200 {"status":"ok"} while the process runs, also while draining
//	GET /debug/ready     readiness: 200 {"status":"ready"}, or 503 {"status":"unready","reason":…,"detail":…}
//	                     when draining or when a Check fails or exceeds the readiness timeout
//	GET /debug/metrics   Prometheus exposition of Options.Registry
//
// Mounted later by the transports (cmd/rampart wires them; each transport
// owns its prefixes and documents them in its own doc.go):
//
//	internal/oidc    OIDC discovery, keys and the OAuth 2.0 / OIDC protocol endpoints
//	internal/api     the admin API (Connect: gRPC, gRPC-Web and JSON; gRPC needs h2c)
//	internal/login   the login UI pages and their assets
//
// The /debug endpoints share the public listener; deployments that expose
// the port publicly should filter /debug/ at the proxy or ingress.
//
// # Dependencies
//
// server imports the standard library, internal/iam and the Prometheus
// client (prometheus, prometheus/collectors, prometheus/promhttp). It must
// not import internal/store or its backends, any transport, or cmd; a
// dependency test enforces this.
package server
