// Package web serves the daemon's two browser pages from files embedded in
// the binary: the customer display (/display), read-only and fed by a
// display-safe event stream, and the integrator console (/console), which
// calls the local API with the operator's bearer token.
//
// Nothing is loaded from the internet and there is no build step: the pages
// are plain HTML, CSS and JavaScript under static/.
//
// The display needs no token when both the browser and the Host it asked for
// are on loopback. Any other display pairs once: the console asks for a short
// code (POST /display/codes, bearer token), the operator types it on the
// display (POST /display/pair), and the display gets a display-only read
// token in an HttpOnly cookie. That token is an HMAC under Options.DisplayKey,
// so it keeps working after a daemon restart and can read nothing but the
// display's own routes.
//
// The display's stream (/display/events) carries only what a customer may
// see: prompts, payment states, amount and currency, and at the end of a card
// payment the last four digits of the masked PAN. Everything else the engine
// says (queue news, messages, card details) is dropped here, before it
// leaves the daemon.
package web
