package offline

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRekeyConcurrent rotates the key while enqueuers and a forwarder run:
// no deadlock, and after a restart (only the new key in the file) every
// entry opens.
func TestRekeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFileName)
	s, err := Open(path, Options{Limits: openLimits})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids(600, "pre") {
		mustEnqueue(t, s, advice(id, 1))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if err := s.Enqueue(context.Background(), advice(fmt.Sprintf("w%d-%05d", w, i), 1)); err != nil {
					t.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := &Forwarder{Store: s, Sender: senderFunc(func(_ context.Context, e Entry) error {
			if !bytes.HasPrefix(e.Payload, []byte("advice payload ")) {
				return fmt.Errorf("bad payload for %s", e.ID)
			}
			return nil
		}), Window: 8, Poll: time.Millisecond}
		f.Run(ctx)
	}()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 3; i++ {
			if _, _, err := s.Rekey(nil); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("rekey deadlocked")
	}
	cancel()
	wg.Wait()
	s.Close()
	s = mustOpenAt(t, path, Options{Limits: openLimits})
	count := 0
	err = s.Scan(func(e Entry) error {
		count++
		got, err := s.Get(e.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(got.Payload, []byte("advice payload "+e.ID)) {
			return fmt.Errorf("%s: payload %q", e.ID, got.Payload)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 600 + int(n.Load()); count != want {
		t.Fatalf("%d entries, want %d", count, want)
	}
}

func TestRunPurgesAfterRetention(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, Options{Limits: openLimits, Now: clk.Now})
	mustEnqueue(t, s, advice("old", 1))
	f := &Forwarder{Store: s, Sender: senderFunc(func(context.Context, Entry) error { return nil })}
	if n, err := f.Step(context.Background()); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	clk.Add(48 * time.Hour)
	mustEnqueue(t, s, advice("new", 1))
	f.Retention = 24 * time.Hour
	f.Poll = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f.Run(ctx)
	if _, err := s.Get("old"); err == nil {
		t.Error("done entry older than the retention not purged")
	}
	if e := mustGet(t, s, "new"); e.State != StateDone {
		t.Errorf("new entry %s", e.State)
	}
}
