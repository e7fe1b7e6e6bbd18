// Package qrdisplay serves the merchant-presented code of a payment for a
// customer display: GET /v1/payments/{id}/qr.png draws the dynamic EMVCo
// code (amount, currency, merchant data, the payment id as reference 62/05,
// the terminal as 62/07) of a payment that is waiting for the customer.
// cmd/ mounts it on the local API:
//
//	api.Mount{Pattern: qrdisplay.Pattern, Handler: qrdisplay.Handler(eng, merchant, terminalID), Public: true}
//
// The engine's wait for the wallet's confirmation (the status poll of
// docs/qr.md) is the engine's; this package only draws.
package qrdisplay

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"posagent/agent"
	"posagent/agent/config"
	"posagent/qr"
	"posagent/qr/render"
)

// Pattern is the route the handler answers.
const Pattern = "GET /v1/payments/{id}/qr.png"

// Payments is what the handler needs of the engine.
type Payments interface {
	Get(id string) (agent.Payment, error)
}

// Payload returns the dynamic merchant-presented payload of a payment that
// is still waiting for the customer; render.ErrNoCode for an unknown
// payment, a final one, or one whose id cannot be a reference label (at
// most 25 characters).
func Payload(p Payments, m qr.Merchant, terminal string) render.PayloadFunc {
	return func(ctx context.Context, id string) (string, error) {
		pay, err := p.Get(id)
		if errors.Is(err, agent.ErrNotFound) {
			return "", render.ErrNoCode
		}
		if err != nil {
			return "", err
		}
		if pay.State != agent.StateCreated && pay.State != agent.StateWaitingForCard {
			return "", render.ErrNoCode
		}
		s, err := qr.DynamicPayload(m, qr.Charge{Amount: pay.Amount, Currency: pay.Currency, Reference: pay.ID, Terminal: terminal})
		if err != nil {
			return "", fmt.Errorf("%w: %w", render.ErrNoCode, err)
		}
		return s, nil
	}
}

// Handler is render.Handler over Payload.
func Handler(p Payments, m qr.Merchant, terminal string) http.Handler {
	return render.Handler(Payload(p, m, terminal))
}

// QRSettings are the merchant data of dynamic codes that the terminal
// section of the config does not carry.
type QRSettings struct {
	GUID    string // acquirer's globally unique identifier in template 26 (e.g. "com.posagent.acqsim")
	City    string // 60, at most 15 characters
	Country string // 58, ISO 3166 alpha-2
}

// Merchant builds the merchant data of dynamic codes from the terminal
// config (name, MCC, merchant ID in 26.01) and the QR settings.
func Merchant(t config.Terminal, s QRSettings) qr.Merchant {
	name := t.MerchantName
	if len([]rune(name)) > 25 {
		name = string([]rune(name)[:25])
	}
	return qr.Merchant{
		Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: s.GUID}, {ID: "01", Value: t.MerchantID}}}},
		MCC:      fmt.Sprintf("%04d", t.MCC), Country: s.Country, Name: name, City: s.City,
	}
}
