package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

// ppse is SELECT 2PAY.SYS.DDF01 and the FCI our fixed card answers with.
const (
	ppseCmd  = "00A404000E325041592E5359532E444446303100"
	ppseResp = "6F 23 84 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 11 BF 0C 0E 61 0C 4F 07 A0 00 00 00 03 10 10 87 01 01 90 00"
)

func open(t *testing.T) *pcsc.Context {
	t.Helper()
	pcsctest.Require(t)
	pcsctest.Lock(t)
	c, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitCard(t *testing.T, c *pcsc.Context, reader string) pcsc.ReaderState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.WaitCard(ctx, func(r string) bool { return r == reader })
	if err != nil {
		t.Fatalf("WaitCard(%s): %v", reader, err)
	}
	return st
}

func connect(t *testing.T, c *pcsc.Context, reader string) *pcsc.Card {
	t.Helper()
	card, err := c.Connect(context.Background(), reader, pcsc.ConnectOptions{Contactless: true})
	if err != nil {
		t.Fatalf("Connect(%s): %v", reader, err)
	}
	t.Cleanup(func() { card.Close() })
	return card
}

func TestListReaders(t *testing.T) {
	c := open(t)
	names, err := c.ListReaders()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{pcsctest.Reader0, pcsctest.Reader1} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("ListReaders = %q, missing %q", names, want)
		}
	}
}

func TestTapTransmitRemove(t *testing.T) {
	c := open(t)
	card := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	att := pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})

	st := waitCard(t, c, pcsctest.Reader0)
	if !bytes.Equal(st.ATR, card.ATR()) {
		t.Errorf("ATR = % X, want % X", st.ATR, card.ATR())
	}
	k := connect(t, c, pcsctest.Reader0)
	if !bytes.Equal(k.ATR(), card.ATR()) {
		t.Errorf("Card.ATR = % X, want % X", k.ATR(), card.ATR())
	}
	data, sw, err := reader.Exchange(context.Background(), k, reader.Select([]byte("2PAY.SYS.DDF01")))
	if err != nil || sw != reader.SWOK {
		t.Fatalf("SELECT PPSE: sw %v err %v", sw, err)
	}
	want := pcsctest.MustHex(ppseResp)
	if !bytes.Equal(data, want[:len(want)-2]) {
		t.Errorf("PPSE data = % X", data)
	}
	rs, err := c.Readers()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Reader == pcsctest.Reader0 && !r.Present {
			t.Errorf("Readers: %s has no card", r.Reader)
		}
		if r.Reader == pcsctest.Reader1 && r.Present {
			t.Errorf("Readers: %s has a card", r.Reader)
		}
	}

	att.Remove()
	_, err = k.Transmit(context.Background(), pcsctest.MustHex(ppseCmd))
	if !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Errorf("Transmit after removal: err = %v, want ErrCardRemoved", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitRemoval(ctx, pcsctest.Reader0); err != nil {
		t.Errorf("WaitRemoval: %v", err)
	}
}

func TestTransportRules(t *testing.T) {
	c := open(t)
	// GET DATA 9F36 answers 6C02 then the value on re-issue; READ RECORD 1/1
	// answers 61 05 and GET RESPONSE gives the rest.
	card := pcsctest.NewFixedCard(map[string]string{
		"80CA9F3600": "6C 02",
		"80CA9F3602": "00 2A 90 00",
		"00B2010C00": "70 03 61 05",
		"00C0000005": "5A 01 02 03 04 90 00",
	})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)
	k := connect(t, c, pcsctest.Reader0)
	tests := []struct {
		name string
		cmd  reader.Command
		want string
	}{
		{"6Cxx re-issue with Le", reader.GetData(0x9F36), "00 2A"},
		{"61xx GET RESPONSE", reader.ReadRecord(1, 1), "70 03 5A 01 02 03 04"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, sw, err := reader.Exchange(context.Background(), k, tc.cmd)
			if err != nil || sw != reader.SWOK {
				t.Fatalf("sw %v err %v", sw, err)
			}
			if !bytes.Equal(data, pcsctest.MustHex(tc.want)) {
				t.Errorf("data = % X, want %s", data, tc.want)
			}
		})
	}
}

func TestCardRemovedMidTransaction(t *testing.T) {
	c := open(t)
	card := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{RemoveAfterAPDUs: 2})
	waitCard(t, c, pcsctest.Reader0)
	k := connect(t, c, pcsctest.Reader0)
	cmd := pcsctest.MustHex(ppseCmd)
	for i := 1; i <= 2; i++ {
		if _, err := k.Transmit(context.Background(), cmd); err != nil {
			t.Fatalf("APDU %d: %v", i, err)
		}
	}
	_, err := k.Transmit(context.Background(), cmd)
	if !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Fatalf("APDU 3: err = %v, want ErrCardRemoved", err)
	}
	var oe *pcsc.OpError
	if !errors.As(err, &oe) || oe.Op != "transmit" || oe.Reader != pcsctest.Reader0 {
		t.Errorf("err = %#v, want *OpError for transmit on %s", err, pcsctest.Reader0)
	}
}

func TestTwoReaders(t *testing.T) {
	c := open(t)
	cards := []*pcsctest.FixedCard{
		pcsctest.NewFixedCard(map[string]string{ppseCmd: "01 90 00"}),
		pcsctest.NewFixedCard(map[string]string{ppseCmd: "02 90 00"}),
	}
	pcsctest.Attach(t, pcsctest.Addr0, cards[0], vpcd.Options{})
	pcsctest.Attach(t, pcsctest.Addr1, cards[1], vpcd.Options{})
	for i, r := range []string{pcsctest.Reader0, pcsctest.Reader1} {
		waitCard(t, c, r)
		k := connect(t, c, r)
		resp, err := k.Transmit(context.Background(), pcsctest.MustHex(ppseCmd))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if resp[0] != byte(i+1) {
			t.Errorf("%s answered % X, want card %d", r, resp, i+1)
		}
	}
}

func TestWaitCardCancel(t *testing.T) {
	c := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.WaitCard(ctx, func(r string) bool { return r == "no such reader" })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 900*time.Millisecond {
		t.Errorf("cancel took %v: SCardCancel did not interrupt the wait", d)
	}
}

func TestWatchEvents(t *testing.T) {
	c := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := make(chan pcsc.Event, 64)
	go c.Watch(ctx, pcsc.WatchOptions{}, func(e pcsc.Event) bool {
		events <- e
		return true
	})
	next := func(kind pcsc.EventKind, reader string) pcsc.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Kind == kind && e.Reader == reader {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %v on %s", kind, reader)
			}
		}
	}
	e := next(pcsc.ReaderAdded, pcsctest.Reader0)
	if e.Present {
		t.Fatalf("reader %s starts with a card", e.Reader)
	}
	card := pcsctest.NewFixedCard(nil)
	att := pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	e = next(pcsc.CardInserted, pcsctest.Reader0)
	if !bytes.Equal(e.ATR, card.ATR()) {
		t.Errorf("inserted ATR = % X", e.ATR)
	}
	att.Remove()
	next(pcsc.CardRemoved, pcsctest.Reader0)
}
