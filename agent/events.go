package agent

import (
	"sync"
	"time"
)

// eventLog numbers events, keeps the last ones in a ring and fans them out
// to subscribers. Ids continue across restarts: each start reserves a
// block of ids durably (see eventBlockTx) and starts at its beginning.
type eventLog struct {
	mu      sync.Mutex
	next    uint64
	limit   uint64 // first id not reserved
	reserve func() (uint64, error)
	ring    []Event
	start   int // index of the oldest event in ring
	n       int
	subs    map[*subscriber]struct{}
	closed  bool
	now     func() time.Time
}

type subscriber struct {
	ch   chan Event
	once sync.Once
}

func (s *subscriber) close() { s.once.Do(func() { close(s.ch) }) }

func newEventLog(size int, first uint64, reserve func() (uint64, error), now func() time.Time) *eventLog {
	if size <= 0 {
		size = 1024
	}
	if first == 0 {
		first = 1
	}
	return &eventLog{next: first, limit: first - first%eventBlock + eventBlock, reserve: reserve,
		ring: make([]Event, size), subs: map[*subscriber]struct{}{}, now: now}
}

// publish numbers ev, keeps it and sends it to every subscriber. A
// subscriber too slow to take it is dropped (its channel closes); it
// resumes with Subscribe(lastID).
func (l *eventLog) publish(ev Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next >= l.limit && l.reserve != nil {
		if start, err := l.reserve(); err == nil {
			l.next, l.limit = max(l.next, start), start+eventBlock
		}
	}
	ev.ID = l.next
	l.next++
	if ev.At.IsZero() {
		ev.At = l.now()
	}
	idx := (l.start + l.n) % len(l.ring)
	if l.n == len(l.ring) {
		l.start = (l.start + 1) % len(l.ring)
	} else {
		l.n++
	}
	l.ring[idx] = ev
	for s := range l.subs {
		select {
		case s.ch <- ev:
		default:
			delete(l.subs, s)
			s.close()
		}
	}
	return ev
}

// subscribe replays the kept events after lastID, then streams.
func (l *eventLog) subscribe(lastID uint64) (<-chan Event, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &subscriber{ch: make(chan Event, len(l.ring)+256)}
	for i := 0; i < l.n; i++ {
		ev := l.ring[(l.start+i)%len(l.ring)]
		if ev.ID > lastID {
			s.ch <- ev
		}
	}
	if l.closed {
		s.close()
		return s.ch, func() {}
	}
	l.subs[s] = struct{}{}
	return s.ch, func() {
		l.mu.Lock()
		delete(l.subs, s)
		l.mu.Unlock()
		s.close()
	}
}

// shut closes every subscription.
func (l *eventLog) shut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for s := range l.subs {
		delete(l.subs, s)
		s.close()
	}
}
