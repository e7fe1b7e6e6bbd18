package pcsc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

// TestPCSCDRestarted stops pcscd under a live Context, Card and Watch, checks
// the errors while it is down, starts it again and taps once more.
func TestPCSCDRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts pcscd")
	}
	c := open(t)
	t.Cleanup(func() { pcsctest.Stack(t, "start") })

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	events := make(chan pcsc.Event, 256)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- c.Watch(ctx, pcsc.WatchOptions{Retry: 100 * time.Millisecond}, func(e pcsc.Event) bool {
			events <- e
			return true
		})
	}()

	card := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	att := pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)
	k := connect(t, c, pcsctest.Reader0)
	if _, err := k.Transmit(ctx, pcsctest.MustHex(ppseCmd)); err != nil {
		t.Fatalf("transmit before restart: %v", err)
	}

	pcsctest.Stack(t, "stop")
	select {
	case <-att.Done():
		if !errors.Is(att.Err, vpcd.ErrReaderClosed) {
			t.Errorf("card side ended with %v, want ErrReaderClosed", att.Err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("card side still attached after pcscd stopped")
	}
	down := []struct {
		name string
		call func() error
	}{
		{"Open", func() error { _, err := pcsc.Open(pcsc.Options{}); return err }},
		{"ListReaders", func() error { _, err := c.ListReaders(); return err }},
		{"Transmit", func() error { _, err := k.Transmit(ctx, pcsctest.MustHex(ppseCmd)); return err }},
		{"Connect", func() error { _, err := c.Connect(ctx, pcsctest.Reader0, pcsc.ConnectOptions{}); return err }},
	}
	for _, tc := range down {
		err := tc.call()
		if !errors.Is(err, pcsc.ErrNoService) {
			t.Errorf("%s with pcscd down: err = %v, want ErrNoService", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), "pcscd") {
			t.Errorf("%s: error %q does not name pcscd", tc.name, err)
		}
	}

	pcsctest.Stack(t, "start")
	card2 := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	pcsctest.Attach(t, pcsctest.Addr0, card2, vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)
	k2 := connect(t, c, pcsctest.Reader0)
	if _, err := k2.Transmit(ctx, pcsctest.MustHex(ppseCmd)); err != nil {
		t.Fatalf("transmit after restart: %v", err)
	}
	if names, err := c.ListReaders(); err != nil || len(names) == 0 {
		t.Errorf("ListReaders after restart = %q, %v", names, err)
	}

	// The watcher saw the service go and come back, and the card again.
	want := []struct {
		kind   pcsc.EventKind
		reader string
	}{
		{pcsc.CardInserted, pcsctest.Reader0},
		{pcsc.ServiceLost, ""},
		{pcsc.ReaderRemoved, pcsctest.Reader0},
		{pcsc.ServiceBack, ""},
		{pcsc.ReaderAdded, pcsctest.Reader0},
	}
	var seen []string
	for _, w := range want {
	wait:
		for {
			select {
			case e := <-events:
				seen = append(seen, e.Kind.String()+" "+e.Reader)
				if e.Kind == w.kind && e.Reader == w.reader {
					break wait
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("watch: no %v %s; saw %q", w.kind, w.reader, seen)
			}
		}
	}
	cancel()
	if err := <-watchDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v, want context.Canceled", err)
	}
}
