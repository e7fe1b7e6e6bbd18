package uplink

import (
	"context"
	"path/filepath"
	"testing"

	"posagent/emv/pan"
	"posagent/offline"
)

// captureQueue keeps what the client enqueues.
type captureQueue struct{ entries []offline.Entry }

func (q *captureQueue) Enqueue(_ context.Context, e offline.Entry) error {
	q.entries = append(q.entries, e)
	return nil
}
func (q *captureQueue) Release(string) error { return nil }
func (q *captureQueue) Cancel(string) error  { return nil }
func (q *captureQueue) Get(string) (offline.Entry, error) {
	return offline.Entry{}, offline.ErrNotFound
}

// An advice's field 39 is the offline approval's response code: Y1 when the
// card approved offline, Y3 when the terminal stood in for an acquirer it
// could not reach.
func TestAdviceResponseCode(t *testing.T) {
	stan, err := OpenSTAN(filepath.Join(t.TempDir(), "stan"), 0)
	if err != nil {
		t.Fatal(err)
	}
	q := &captureQueue{}
	c, err := New(Config{Queue: q, STAN: stan, TerminalID: "T0000001"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := pan.Parse(fullPAN)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"Y1", "Y3"} {
		tx := Transaction{ID: "adv-" + code, PAN: p, Amount: 100, Currency: "978", EntryMode: EntryContactless}
		if err := c.Advice(context.Background(), tx, code+"    "); err != nil {
			t.Fatal(err)
		}
		e := q.entries[len(q.entries)-1]
		r, err := parseRecord(e.ID, e.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.message(MTIAdvice).ResponseCode; got != code {
			t.Fatalf("advice for %s: field 39 = %q", code, got)
		}
	}
}
