package offline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Property test of the queue against a model: no loss, no duplicate, order
// kept per kind, limits never exceeded (and decided exactly as the model
// decides), across enqueues, releases, cancels, forwarding rounds with mixed
// outcomes, crashes in the middle of a round, and restarts.

var propLimits = map[string]Limit{
	"978": {PerTransaction: 500, TotalAmount: 1000, Count: 5, MaxAge: time.Hour, CardCount: 2, CardAmount: 600},
	"840": {Count: 2},
}

var propPANs = []string{"", "4761739001010010", "5413330089020011", "6011000990139424"}

type modelEntry struct {
	id       string
	kind     Kind
	state    State
	amount   int64
	currency string
	card     int
	seq      int
	created  time.Time
	repeat   bool
	attempts int
	next     time.Time
	done     bool // acknowledged at least once
}

type propSender struct {
	mu       sync.Mutex
	outcome  func(id string) error
	round    []Entry
	firstOK  map[string]int // id -> acknowledged (nil answers)
	nonRepet map[string]int
}

func (p *propSender) Forward(_ context.Context, e Entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.round = append(p.round, e)
	if !e.Repeat {
		p.nonRepet[e.ID]++
	}
	err := p.outcome(e.ID)
	if err == nil || errors.Is(err, ErrDeclined) {
		p.firstOK[e.ID]++
	}
	return err
}

type queueMachine struct {
	dir     string
	path    string
	clk     *fakeClock
	s       *Store
	snd     *propSender
	fw      *Forwarder
	model   map[string]*modelEntry
	nextSeq int
	sentAdv []int // seq of advices at their first send, in send order
}

func (m *queueMachine) open(t *rapid.T) {
	s, err := Open(m.path, Options{Limits: propLimits, Now: m.clk.Now, NoSync: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	m.s = s
	m.fw = &Forwarder{Store: s, Sender: m.snd, BackoffBase: time.Minute, BackoffMax: time.Hour, Jitter: func() float64 { return 0.5 }}
}

func (m *queueMachine) outstanding(currency string, card int) (count, amount int64, oldest time.Time) {
	var list []*modelEntry
	for _, e := range m.model {
		if e.kind == KindAdvice && queued(e.state) && e.currency == currency && (card == 0 || e.card == card) {
			list = append(list, e)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	for _, e := range list {
		count++
		amount += e.amount
	}
	if len(list) > 0 {
		oldest = list[0].created
	}
	return
}

// modelLimit mirrors the documented limit rules.
func (m *queueMachine) modelLimit(amount int64, currency string, card int) LimitName {
	l, ok := propLimits[currency]
	if !ok {
		return LimitCurrency
	}
	if l.PerTransaction > 0 && amount > l.PerTransaction {
		return LimitPerTransaction
	}
	c, a, oldest := m.outstanding(currency, 0)
	if l.Count > 0 && c+1 > int64(l.Count) {
		return LimitCount
	}
	if l.TotalAmount > 0 && a+amount > l.TotalAmount {
		return LimitTotalAmount
	}
	if l.MaxAge > 0 && c > 0 && m.clk.Now().Sub(oldest) > l.MaxAge {
		return LimitAge
	}
	if card != 0 {
		cc, ca, _ := m.outstanding(currency, card)
		if l.CardCount > 0 && cc+1 > int64(l.CardCount) {
			return LimitCardCount
		}
		if l.CardAmount > 0 && ca+amount > l.CardAmount {
			return LimitCardAmount
		}
	}
	return ""
}

func (m *queueMachine) EnqueueAdvice(t *rapid.T) {
	m.clk.Add(time.Duration(rapid.IntRange(0, 20).Draw(t, "minutes")) * time.Minute)
	amount := rapid.SampledFrom([]int64{1, 50, 200, 300, 450, 500, 501, 650}).Draw(t, "amount")
	currency := rapid.SampledFrom([]string{"978", "978", "840", "036"}).Draw(t, "currency")
	card := rapid.IntRange(0, len(propPANs)-1).Draw(t, "card")
	id := fmt.Sprintf("a%d", m.nextSeq)
	want := m.modelLimit(amount, currency, card)
	e := Entry{ID: id, Kind: KindAdvice, Amount: amount, Currency: currency, Payload: []byte(id)}
	if card != 0 {
		e.CardKey = m.s.CardKey(propPANs[card])
	}
	check := m.s.CheckLimits(amount, currency, e.CardKey, m.clk.Now())
	err := m.s.Enqueue(context.Background(), e)
	for _, got := range []error{check, err} {
		var le *LimitError
		switch {
		case want == "" && got != nil:
			t.Fatalf("%s refused (%v), model accepts", id, got)
		case want != "" && (!errors.As(got, &le) || le.Limit != want):
			t.Fatalf("%s: %v, model refuses by %q", id, got, want)
		}
	}
	if want == "" {
		m.add(&modelEntry{id: id, kind: KindAdvice, state: StatePending, amount: amount, currency: currency, card: card})
	}
	m.nextSeq++
}

func (m *queueMachine) add(e *modelEntry) {
	e.seq = m.nextSeq
	e.created = m.clk.Now()
	m.model[e.id] = e
}

func (m *queueMachine) EnqueueReversal(t *rapid.T) {
	held := rapid.Bool().Draw(t, "held")
	id := fmt.Sprintf("r%d", m.nextSeq)
	if err := m.s.Enqueue(context.Background(), reversal(id, held)); err != nil {
		t.Fatal(err)
	}
	st := StatePending
	if held {
		st = StateHeld
	}
	m.add(&modelEntry{id: id, kind: KindReversal, state: st, amount: 100, currency: "978"})
	m.nextSeq++
}

func (m *queueMachine) pick(t *rapid.T, state State) *modelEntry {
	var ids []string
	for id, e := range m.model {
		if e.state == state {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Skip("none " + string(state))
	}
	sort.Strings(ids)
	return m.model[rapid.SampledFrom(ids).Draw(t, "id")]
}

func (m *queueMachine) Release(t *rapid.T) {
	e := m.pick(t, StateHeld)
	if err := m.s.Release(e.id); err != nil {
		t.Fatal(err)
	}
	e.state = StatePending
}

func (m *queueMachine) Cancel(t *rapid.T) {
	e := m.pick(t, StateHeld)
	if err := m.s.Cancel(e.id); err != nil {
		t.Fatal(err)
	}
	delete(m.model, e.id)
}

func (m *queueMachine) Duplicate(t *rapid.T) {
	if len(m.model) == 0 {
		t.Skip("empty")
	}
	var ids []string
	for id := range m.model {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	id := rapid.SampledFrom(ids).Draw(t, "id")
	if err := m.s.Enqueue(context.Background(), reversal(id, false)); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate %s: %v", id, err)
	}
}

func outcomeOf(codes []int) func(id string) error {
	return func(id string) error {
		h := fnv.New32a()
		h.Write([]byte(id))
		switch codes[h.Sum32()%uint32(len(codes))] {
		case 1:
			return errors.New("link down")
		case 2:
			return fmt.Errorf("%w: format error", ErrRejected)
		case 3:
			return fmt.Errorf("%w: 05", ErrDeclined)
		}
		return nil
	}
}

// due lists model entries the forwarder may send now, in its order.
func (m *queueMachine) due() []*modelEntry {
	var list []*modelEntry
	for _, e := range m.model {
		if e.state == StatePending && !e.next.After(m.clk.Now()) {
			list = append(list, e)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		ri, rj := kindRank(list[i].kind), kindRank(list[j].kind)
		if ri != rj {
			return ri < rj
		}
		return list[i].seq < list[j].seq
	})
	return list
}

func (m *queueMachine) Forward(t *rapid.T) {
	codes := rapid.SliceOfN(rapid.IntRange(0, 3), 1, 4).Draw(t, "outcomes")
	m.fw.Window = rapid.IntRange(1, 6).Draw(t, "window")
	m.snd.outcome = outcomeOf(codes)
	m.snd.round = nil
	dueBefore := m.due()
	n, err := m.fw.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	round := m.snd.round
	if n != len(round) {
		t.Fatalf("step says %d, sender saw %d", n, len(round))
	}
	m.checkRound(t, round, dueBefore)
	for _, e := range round {
		me := m.model[e.ID]
		if e.Repeat != me.repeat {
			t.Fatalf("%s sent with repeat=%v, model says %v", e.ID, e.Repeat, me.repeat)
		}
		if string(e.Payload) != e.ID && string(e.Payload) != "reversal payload "+e.ID {
			t.Fatalf("%s: payload %q", e.ID, e.Payload)
		}
		me.repeat = true
		me.attempts++
		err := m.snd.outcome(e.ID)
		switch {
		case err == nil || errors.Is(err, ErrDeclined):
			me.state, me.done = StateDone, true
		case errors.Is(err, ErrRejected):
			me.state = StateFailed
		default:
			me.next = m.clk.Now().Add(m.fw.backoff(me.attempts, 0.5))
		}
	}
}

// checkRound: a round sends the first due entries in order (reversals
// first, never mixed with advices), none that is held, done or failed.
func (m *queueMachine) checkRound(t *rapid.T, round []Entry, dueBefore []*modelEntry) {
	var got, want []string
	for _, e := range round {
		got = append(got, e.ID)
	}
	for _, e := range dueBefore {
		if len(want) == len(round) || (len(want) > 0 && e.kind != m.model[want[0]].kind) {
			break
		}
		want = append(want, e.id)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("round sent %v, want the first due %v", got, want)
	}
	sort.Slice(round, func(i, j int) bool { return round[i].Seq < round[j].Seq })
	for _, e := range round {
		if e.Kind == KindAdvice && !m.model[e.ID].repeat {
			if k := len(m.sentAdv); k > 0 && m.sentAdv[k-1] > m.model[e.ID].seq {
				t.Fatalf("advice %s first sent after a later advice", e.ID)
			}
			m.sentAdv = append(m.sentAdv, m.model[e.ID].seq)
		}
	}
}

// CrashMidRound claims entries (marks them in flight) and "dies" before the
// answers are recorded; after reopening they are pending repeats.
func (m *queueMachine) CrashMidRound(t *rapid.T) {
	w := rapid.IntRange(1, 4).Draw(t, "window")
	claimed, err := m.s.claim(m.clk.Now(), w)
	if err != nil {
		t.Fatal(err)
	}
	m.s.Close()
	m.open(t)
	for _, e := range claimed {
		me := m.model[e.ID]
		me.repeat = true
		me.attempts++
		me.next = time.Time{}
		// Whether the acquirer got it is unknown: record it as a possible
		// arrival so that the "first send at most once" check stays honest.
		if !e.Repeat {
			m.snd.nonRepet[e.ID]++
		}
	}
}

func (m *queueMachine) Restart(t *rapid.T) {
	m.s.Close()
	m.open(t)
}

func (m *queueMachine) Later(t *rapid.T) {
	m.clk.Add(time.Duration(rapid.IntRange(1, 120).Draw(t, "minutes")) * time.Minute)
}

func (m *queueMachine) Check(t *rapid.T) {
	if err := m.s.Check(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err := m.s.Scan(func(e Entry) error {
		seen[e.ID]++
		me, ok := m.model[e.ID]
		if !ok {
			return fmt.Errorf("unexpected entry %s", e.ID)
		}
		if e.State != me.state {
			return fmt.Errorf("%s is %s, model %s", e.ID, e.State, me.state)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range m.model {
		if seen[id] != 1 {
			t.Fatalf("%s present %d times (loss or duplicate)", id, seen[id])
		}
	}
	for id, n := range m.snd.firstOK {
		if n > 1 {
			t.Fatalf("%s acknowledged %d times: sent again after it was done", id, n)
		}
	}
	for id, n := range m.snd.nonRepet {
		if n > 1 {
			t.Fatalf("%s sent %d times without the repeat mark", id, n)
		}
	}
	st, err := m.s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for cur, o := range st.Outstanding {
		l := propLimits[cur]
		if (l.Count > 0 && o.Count > int64(l.Count)) || (l.TotalAmount > 0 && o.Amount > l.TotalAmount) {
			t.Fatalf("limits exceeded for %s: %+v", cur, o)
		}
		c, a, _ := m.outstanding(cur, 0)
		if o.Count != c || o.Amount != a {
			t.Fatalf("outstanding %s %+v, model %d/%d", cur, o, c, a)
		}
	}
}

func TestQueueProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dir, err := os.MkdirTemp("", "offline-prop")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		m := &queueMachine{dir: dir, path: filepath.Join(dir, DBFileName), clk: newClock(), model: map[string]*modelEntry{},
			snd: &propSender{firstOK: map[string]int{}, nonRepet: map[string]int{}}}
		m.open(t)
		defer func() { m.s.Close() }()
		t.Repeat(rapid.StateMachineActions(m))
	})
}
