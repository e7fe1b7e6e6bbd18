package api

import "time"

// Totals, Status and QueueEntry are what GET /v1/totals, /v1/status and
// /v1/queue serve.
//
// TODO(engine merge): these mirror agent.Totals, agent.Status and
// agent.QueueEntry of the engine branch; once it is merged they become
// aliases of those and this file goes.
type (
	Totals      = pendingTotals
	TotalRow    = pendingTotalRow
	Status      = pendingStatus
	InputStatus = pendingInputStatus
	QueueEntry  = pendingQueueEntry
)

type pendingTotals struct {
	Since time.Time         `json:"since"`
	Until time.Time         `json:"until"`
	Rows  []pendingTotalRow `json:"rows"`
	Net   map[string]int64  `json:"net"`
}

type pendingTotalRow struct {
	State    string `json:"state"`
	Kind     string `json:"kind"`
	Scheme   string `json:"scheme"`
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"`
}

type pendingStatus struct {
	Readers []pendingInputStatus `json:"readers"`
	Uplink  struct {
		Configured bool   `json:"configured"`
		Up         bool   `json:"up"`
		Addr       string `json:"addr,omitempty"`
	} `json:"uplink"`
	Queue struct {
		ByState       map[string]int   `json:"by_state"`
		Outstanding   map[string]int64 `json:"outstanding"`
		OldestPending time.Time        `json:"oldest_pending,omitzero"`
	} `json:"queue"`
}

type pendingInputStatus struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Payment string `json:"busy,omitempty"`
}

type pendingQueueEntry struct {
	ID          string    `json:"id"`
	Payment     string    `json:"payment"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Declined    bool      `json:"declined,omitempty"`
}
