//go:build !realengine

package nexo

import "posagent/agent"

// realEngine says whether daemonEngine is agent's engine. Until the engine
// is merged into main it is the fake of handler_test.go (build with
// -tags realengine once it is).
const realEngine = false

// daemonEngine is the child daemon's engine.
func daemonEngine(a daemonArgs) (Engine, error) {
	f := newFake()
	f.waits = func(r agent.PaymentRequest) bool { return r.Amount == 9900 }
	f.outcome = func(r agent.PaymentRequest) agent.Payment {
		if r.Amount == 5100 {
			return agent.Payment{State: agent.StateDeclined, Reason: agent.ReasonIssuerDeclined}
		}
		return agent.Payment{State: agent.StateApproved, AuthCode: "123456", MaskedPAN: "476173******0119", EntryMode: "contactless", Scheme: "visa"}
	}
	return f, nil
}
