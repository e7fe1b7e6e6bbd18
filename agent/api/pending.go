package api

import "time"

// Totals, Status and QueueEntry are the shapes the API serves for
// GET /v1/totals, /v1/status and /v1/queue.
//
// TODO(engine merge): replace these with aliases of agent.Totals,
// agent.Status and agent.QueueEntry once the engine defines them.
type (
	Totals = pendingTotals
	// TotalsLine is one state / scheme / currency line of Totals.
	// ReaderStatus is one input of Status.
	Status     = pendingStatus
	QueueEntry = pendingQueueEntry
)

type pendingTotals struct {
	Since time.Time    `json:"since"`
	Lines []TotalsLine `json:"lines"`
}

type TotalsLine struct {
	State    string `json:"state"`
	Scheme   string `json:"scheme"`
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"`
}

type pendingStatus struct {
	Readers  []ReaderStatus `json:"readers"`
	Uplink   pendingUplink  `json:"uplink"`
	Queue    pendingQueue   `json:"queue"`
	InFlight string         `json:"in_flight,omitempty"`
}

type ReaderStatus struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type pendingUplink struct {
	Connected bool   `json:"connected"`
	Address   string `json:"address"`
}

type pendingQueue struct {
	Depth  int       `json:"depth"`
	Oldest time.Time `json:"oldest,omitzero"`
}

type pendingQueueEntry struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	State    string    `json:"state"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Created  time.Time `json:"created"`
	Attempts int       `json:"attempts"`
}
