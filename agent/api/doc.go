// Package api is posagent's local cashier API: a route table over the
// transaction engine (the Engine interface declared here, which
// *agent.Engine satisfies), bearer-token auth, JSON errors with stable
// codes, Server-Sent Events, health and readiness probes, Prometheus
// metrics, and the OpenAPI 3.1 description of it all (openapi.yaml,
// embedded and served at /v1/openapi.yaml).
//
// cmd/ builds a Server with New, mounts its own handlers (web pages, the
// nexo endpoint) through Options.Mounts, with or without the token check,
// and serves it on the listeners Listen opens from the config: 127.0.0.1
// by default, an optional unix socket, and TLS required beyond loopback.
// Handlers served elsewhere check the same token with Server.Auth().
//
// Client is the Go client of the API (the demo, tests, cashier programs).
package api
