package api

import (
	"context"
	"time"

	"posagent/agent"
)

// Engine is what the local API needs of agent.Engine (the consumer
// declares the interface; *agent.Engine satisfies it).
type Engine interface {
	// Start creates the payment (idempotent by ID: same request, stored
	// payment; different request, agent.ErrConflict) and runs it in the
	// background.
	Start(ctx context.Context, req agent.PaymentRequest) (agent.Payment, error)
	// Wait returns the payment once final, or its current state when ctx ends.
	Wait(ctx context.Context, id string) (agent.Payment, error)
	Get(id string) (agent.Payment, error)
	Abort(ctx context.Context, id string) (agent.Payment, error)
	Void(ctx context.Context, id string) (agent.Payment, error)
	Capture(ctx context.Context, id string, amount int64) (agent.Payment, error)
	Refund(ctx context.Context, req agent.RefundRequest) (agent.Payment, error)
	Totals(since time.Time) (Totals, error)
	Status() Status
	QueueEntries() ([]QueueEntry, error)
	ForwardNow(ctx context.Context) (int, error)
	// Subscribe replays the kept events after lastID, then live ones, until cancel.
	Subscribe(lastID uint64) (events <-chan agent.Event, cancel func())
}

// What GET /v1/totals, /v1/status and /v1/queue serve: the engine's own types.
type (
	Totals      = agent.Totals
	TotalRow    = agent.TotalRow
	Status      = agent.Status
	InputStatus = agent.InputStatus
	QueueEntry  = agent.QueueEntry
)

// The engine satisfies the API's interface; the metrics are its Observer.
var (
	_ Engine         = (*agent.Engine)(nil)
	_ agent.Observer = (*Metrics)(nil)
)
