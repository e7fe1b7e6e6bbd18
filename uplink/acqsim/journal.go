package acqsim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Kind of a journalled message.
const (
	KindAuth      = "auth"      // 0100
	KindFinancial = "financial" // 0200
	KindRefund    = "refund"    // 0200 with processing code 200000
	KindAdvice    = "advice"    // 0220/0221
	KindReversal  = "reversal"  // 0400/0401/0420/0421
)

// Record is one journal line. The PAN is masked (first 6 + last 4).
type Record struct {
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind"`
	MTI           string    `json:"mti"`
	STAN          string    `json:"stan"`
	TerminalID    string    `json:"tid"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	TransactionID string    `json:"txn"`
	PAN           string    `json:"pan,omitempty"`
	ResponseCode  string    `json:"rc"`
	AuthCode      string    `json:"auth,omitempty"`
	RRN           string    `json:"rrn,omitempty"`
	Duplicate     bool      `json:"duplicate"`
	// For reversals: whether the original was found approved (only then
	// the reversal changes the totals).
	ReversesApproved bool   `json:"reverses_approved,omitempty"`
	ARQC             string `json:"arqc,omitempty"`      // "ok", "failed", "absent" (never the cryptogram)
	QRFormat         string `json:"qr_format,omitempty"` // QR payments: qr.Format of field 62 (never the code)
}

func recordKey(kind, tid, txn string) string { return kind + "\x00" + tid + "\x00" + txn }

// Journal is an append-only, fsync'd JSON-lines file with an index of what
// it holds (for duplicate detection). Writes are group-committed: one fsync
// for every batch of concurrent appends.
type Journal struct {
	f    *os.File
	reqs chan journalReq
	done chan struct{}

	noSync atomic.Bool

	mu    sync.Mutex
	index map[string]*entryState
	err   error // sticky write error
	batch struct{ n, fsyncs int64 }
}

type entryState struct {
	ready chan struct{} // closed when rec is final
	rec   Record
}

type journalReq struct {
	line []byte
	done chan error
}

// OpenJournal opens (creating) the journal at path and indexes the records
// already in it, so duplicates are found across restarts.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("acqsim: opening journal: %w", err)
	}
	j := &Journal{f: f, reqs: make(chan journalReq, 4096), done: make(chan struct{}), index: map[string]*entryState{}}
	err = scanJournal(f, func(r Record) {
		if r.Duplicate {
			return
		}
		st := &entryState{ready: make(chan struct{}), rec: r}
		close(st.ready)
		j.index[recordKey(r.Kind, r.TerminalID, r.TransactionID)] = st
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	go j.writer()
	return j, nil
}

// DisableSync stops fsyncing appends. For benchmarks that separate the
// cost of the disk from the protocol only: it breaks the journal's promise.
func (j *Journal) DisableSync() { j.noSync.Store(true) }

// Close flushes pending appends and closes the file. Close the Server
// using the journal first: appending after Close is a programming error.
func (j *Journal) Close() error {
	close(j.reqs)
	<-j.done
	return j.f.Close()
}

// Fsyncs returns how many fsyncs covered how many records (group commit).
func (j *Journal) Fsyncs() (records, fsyncs int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.batch.n, j.batch.fsyncs
}

func (j *Journal) writer() {
	defer close(j.done)
	var buf []byte
	for first := range j.reqs {
		batch := []journalReq{first}
	drain:
		for len(batch) < 1024 {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
		for _, r := range batch {
			buf = append(buf, r.line...)
		}
		_, err := j.f.Write(buf)
		if err == nil && !j.noSync.Load() {
			err = j.f.Sync()
		}
		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = err
		}
		j.batch.n += int64(len(batch))
		j.batch.fsyncs++
		j.mu.Unlock()
		for _, r := range batch {
			r.done <- err
		}
	}
}

// claim reserves the key of a new record. If the key is already taken it
// waits for that record and returns it with dup = true.
func (j *Journal) claim(kind, tid, txn string) (st *entryState, prev Record, dup bool) {
	key := recordKey(kind, tid, txn)
	j.mu.Lock()
	if old, ok := j.index[key]; ok {
		j.mu.Unlock()
		<-old.ready
		return nil, old.rec, true
	}
	st = &entryState{ready: make(chan struct{})}
	j.index[key] = st
	j.mu.Unlock()
	return st, Record{}, false
}

// finish completes a claimed record (or drops the claim when rec is nil,
// e.g. the message was not processed).
func (j *Journal) finish(kind, tid, txn string, st *entryState, rec *Record) {
	if rec == nil {
		j.mu.Lock()
		delete(j.index, recordKey(kind, tid, txn))
		j.mu.Unlock()
		close(st.ready)
		return
	}
	st.rec = *rec
	close(st.ready)
}

// lookup returns the final record for a key, if any.
func (j *Journal) lookup(kind, tid, txn string) (Record, bool) {
	j.mu.Lock()
	st, ok := j.index[recordKey(kind, tid, txn)]
	j.mu.Unlock()
	if !ok {
		return Record{}, false
	}
	<-st.ready
	return st.rec, st.rec.Kind != ""
}

// Append writes rec durably (fsync'd) before returning.
func (j *Journal) Append(rec Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	done := make(chan error, 1)
	j.reqs <- journalReq{line: line, done: done}
	return <-done
}

func scanJournal(r io.Reader, fn func(Record)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("acqsim: journal line %d: not a record", n)
		}
		fn(rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("acqsim: reading journal: %w", err)
	}
	return nil
}

// Totals sums a journal.
type Totals struct {
	Records    int
	Duplicates int
	ByKind     map[string]*KindTotals
	// Net is per currency: approved financial requests + approved advices -
	// approved refunds - reversals of approved financial requests, advices
	// (and + reversals of approved refunds).
	Net map[string]int64
}

// KindTotals counts one kind of message.
type KindTotals struct {
	Count, Approved, Declined int
	ApprovedAmount            map[string]int64 // per currency
}

// ReadTotals reads a journal file and sums it. Duplicates are counted
// apart and never added to the amounts.
func ReadTotals(path string) (*Totals, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("acqsim: opening journal: %w", err)
	}
	defer f.Close()
	t := &Totals{ByKind: map[string]*KindTotals{}, Net: map[string]int64{}}
	approved := map[string]bool{} // financial/advice keys approved
	refunded := map[string]bool{} // refund keys approved
	err = scanJournal(f, func(r Record) {
		t.Records++
		if r.Duplicate {
			t.Duplicates++
			return
		}
		k := t.ByKind[r.Kind]
		if k == nil {
			k = &KindTotals{ApprovedAmount: map[string]int64{}}
			t.ByKind[r.Kind] = k
		}
		k.Count++
		ok := approvedRC(r.ResponseCode)
		if ok {
			k.Approved++
			k.ApprovedAmount[r.Currency] += r.Amount
		} else {
			k.Declined++
		}
		switch r.Kind {
		case KindFinancial, KindAdvice:
			if ok {
				t.Net[r.Currency] += r.Amount
				approved[r.TerminalID+"\x00"+r.TransactionID] = true
			}
		case KindRefund:
			if ok {
				t.Net[r.Currency] -= r.Amount
				refunded[r.TerminalID+"\x00"+r.TransactionID] = true
			}
		case KindReversal:
			key := r.TerminalID + "\x00" + r.TransactionID
			if ok && r.ReversesApproved && approved[key] {
				t.Net[r.Currency] -= r.Amount
				delete(approved, key)
			} else if ok && r.ReversesApproved && refunded[key] {
				t.Net[r.Currency] += r.Amount
				delete(refunded, key)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func approvedRC(rc string) bool { return rc == "00" || rc == "08" || rc == "11" }

// Print writes the totals as a small table.
func (t *Totals) Print(w io.Writer) {
	fmt.Fprintf(w, "records %d (duplicates %d, not counted)\n", t.Records, t.Duplicates)
	kinds := make([]string, 0, len(t.ByKind))
	for k := range t.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		v := t.ByKind[k]
		fmt.Fprintf(w, "%-10s count %d approved %d declined %d", k, v.Count, v.Approved, v.Declined)
		for _, c := range sortedKeys(v.ApprovedAmount) {
			fmt.Fprintf(w, " amount[%s] %d", c, v.ApprovedAmount[c])
		}
		fmt.Fprintln(w)
	}
	for _, c := range sortedKeys(t.Net) {
		fmt.Fprintf(w, "net[%s] %d\n", c, t.Net[c])
	}
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReadJournal returns every record of the journal file at path, in order
// (duplicates included, marked).
func ReadJournal(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("acqsim: opening journal: %w", err)
	}
	defer f.Close()
	var out []Record
	err = scanJournal(f, func(r Record) { out = append(out, r) })
	return out, err
}
