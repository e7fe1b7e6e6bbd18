package offline

import (
	"context"
	"errors"
	"testing"
)

func TestCommitIsOneTransaction(t *testing.T) {
	var ops []string
	var synced []bool
	s := mustOpen(t, Options{Limits: openLimits, OnCommit: func(op string, fsynced bool) {
		ops = append(ops, op)
		synced = append(synced, fsynced)
	}})
	ctx := context.Background()
	mustEnqueue(t, s, reversal("r1", true))
	ops, synced = nil, nil
	// A state of the caller's, a new advice, the release of a held
	// reversal: one commit, one fsync.
	err := s.Commit(ctx, "together", func(tx *Tx) error {
		b, err := tx.Bucket("ledger")
		if err != nil {
			return err
		}
		if err := b.Put([]byte("p1"), []byte("approved_offline")); err != nil {
			return err
		}
		if err := tx.Enqueue(advice("a1", 100)); err != nil {
			return err
		}
		return tx.Release("r1")
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0] != "together" || !synced[0] {
		t.Fatalf("commits %v synced %v", ops, synced)
	}
	if e := mustGet(t, s, "r1"); e.State != StatePending {
		t.Fatalf("r1 %s", e.State)
	}
	if e := mustGet(t, s, "a1"); e.State != StatePending || string(e.Payload) != "advice payload a1" {
		t.Fatalf("a1 %+v", e)
	}
	// A failing function writes nothing of what it did.
	boom := errors.New("boom")
	err = s.Commit(ctx, "failing", func(tx *Tx) error {
		b, _ := tx.Bucket("ledger")
		b.Put([]byte("p2"), []byte("x"))
		if err := tx.Enqueue(advice("a2", 100)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if _, err := s.Get("a2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a2 written by a failed commit: %v", err)
	}
	s.View(func(tx *ReadTx) error {
		if v := tx.Bucket("ledger").Get([]byte("p2")); v != nil {
			t.Fatal("p2 written by a failed commit")
		}
		if v := tx.Bucket("ledger").Get([]byte("p1")); string(v) != "approved_offline" {
			t.Fatalf("p1 = %q", v)
		}
		return nil
	})
	// A limit refusal inside a commit aborts the whole commit.
	lim := mustOpen(t, Options{Limits: map[string]Limit{"*": {PerTransaction: 50}}})
	err = lim.Commit(ctx, "limited", func(tx *Tx) error {
		b, _ := tx.Bucket("ledger")
		b.Put([]byte("p3"), []byte("approved_offline"))
		return tx.Enqueue(advice("a3", 100))
	})
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("limit: %v", err)
	}
	lim.View(func(tx *ReadTx) error {
		if b := tx.Bucket("ledger"); b != nil && b.Get([]byte("p3")) != nil {
			t.Fatal("state written although its advice was refused")
		}
		return nil
	})
	// CommitLazy is not fsync'd.
	ops, synced = nil, nil
	if err := s.CommitLazy(ctx, "lazy", func(tx *Tx) error {
		b, _ := tx.Bucket("ledger")
		return b.Put([]byte("p4"), []byte("waiting"))
	}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] {
		t.Fatalf("lazy commit synced: %v", synced)
	}
	if _, err := (&Tx{}).Bucket(""); err == nil {
		t.Fatal("empty bucket name accepted")
	}
}

func TestKeptRecordIsNeverSent(t *testing.T) {
	s := mustOpen(t, Options{Limits: openLimits})
	ctx := context.Background()
	rec := Entry{ID: "k1", Kind: KindRecord, State: StateKept, Amount: 100, Currency: "978", Payload: []byte("card data")}
	if err := s.Enqueue(ctx, Entry{ID: "bad", Kind: KindRecord, Payload: []byte("x")}); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("record enqueued pending: %v", err)
	}
	if err := s.Enqueue(ctx, Entry{ID: "bad2", Kind: KindAdvice, State: StateKept, Currency: "978"}); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("advice enqueued kept: %v", err)
	}
	mustEnqueue(t, s, rec)
	sent := 0
	f := &Forwarder{Store: s, Sender: senderFunc(func(context.Context, Entry) error { sent++; return nil })}
	if n, err := f.Step(ctx); err != nil || n != 0 || sent != 0 {
		t.Fatalf("forwarded a kept record: n=%d sent=%d err=%v", n, sent, err)
	}
	if e := mustGet(t, s, "k1"); e.State != StateKept || string(e.Payload) != "card data" {
		t.Fatalf("k1 %+v", e)
	}
	if err := s.Commit(ctx, "finish", func(tx *Tx) error { return tx.Finish("k1") }); err != nil {
		t.Fatal(err)
	}
	if e := mustGet(t, s, "k1"); e.State != StateDone {
		t.Fatalf("k1 after Finish: %s", e.State)
	}
	// A completion is sent, outside the offline limits.
	lim := mustOpen(t, Options{Limits: map[string]Limit{"*": {PerTransaction: 1}}})
	mustEnqueue(t, lim, Entry{ID: "c1", Kind: KindCompletion, Amount: 5000, Currency: "978", Payload: []byte("completion")})
}
