package uplink_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"posagent/emv/cardsim/perso"
	"posagent/emv/pan"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"posagent/emv/arqc"
	"posagent/emv/tlv"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

func TestPurchaseApprovedWithARPC(t *testing.T) {
	for _, qk := range queueKinds {
		t.Run(qk.name, func(t *testing.T) {
			e := newEnv(t, "", acqsim.Fault{})
			q := qk.open(t)
			c, _ := e.client(t, q, nil)
			txn := card(t, "approve-1", 1250)
			res, err := c.Purchase(ctxT(t), txn)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Approved() || res.ResponseCode != "00" || res.AuthCode == "" || len(res.RRN) != 12 {
				t.Fatalf("result %v, want approved with auth code and RRN", res)
			}
			// The ARPC in tag 91 is what the card will check: recompute it.
			list, err := tlv.Parse(res.ICC)
			if err != nil {
				t.Fatal(err)
			}
			iad := tlv.Value(list, 0x91)
			if len(iad) != 10 || string(iad[8:]) != "00" {
				t.Fatalf("tag 91 = %X, want ARPC || \"00\"", iad)
			}
			cl, _ := tlv.Parse(txn.ICC)
			var ac [8]byte
			copy(ac[:], tlv.Value(cl, 0x9F26))
			imk, _ := perso.TestMasterKey("visa")
			atc := tlv.Value(cl, 0x9F36)
			sk := arqc.SessionKey(arqc.DeriveICCMasterKey(imk, testPAN, 1), [2]byte{atc[0], atc[1]})
			if want := arqc.ARPC(sk, ac, [2]byte{'0', '0'}); string(want[:]) != string(iad[:8]) {
				t.Fatalf("ARPC %X, want %X", iad[:8], want)
			}
			if st := q.state(t, txn.ID); st != "" {
				t.Fatalf("reversal left in state %q after a response", st)
			}
			tot := e.totals(t)
			if fin := tot.ByKind[acqsim.KindFinancial]; fin == nil || fin.Approved != 1 || tot.Net[currency] != 1250 {
				t.Fatalf("journal totals %+v net %v", fin, tot.Net)
			}
		})
	}
}

func TestDeclines(t *testing.T) {
	rules := `{"rules":[
		{"name":"big","min_amount":100000,"response_code":"51"},
		{"name":"blocked BIN","pan_from":"476173","pan_to":"476173","max_amount":10,"response_code":"05"},
		{"name":"gambling","mcc":["7995"],"response_code":"57"}
	]}`
	tests := []struct {
		name   string
		amount int64
		mcc    string
		wantRC string
	}{
		{name: "approved below limits", amount: 500, mcc: "5411", wantRC: "00"},
		{name: "amount decline", amount: 150000, mcc: "5411", wantRC: "51"},
		{name: "PAN range decline", amount: 5, mcc: "5411", wantRC: "05"},
		{name: "MCC decline", amount: 700, mcc: "7995", wantRC: "57"},
	}
	e := newEnv(t, rules, acqsim.Fault{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memQueue{acqsim.NewMemQueue()}
			c, _ := e.client(t, q, func(cfg *uplink.Config) { cfg.MCC = tt.mcc })
			txn := card(t, "decline-"+string(rune('a'+i)), tt.amount)
			res, err := c.Purchase(ctxT(t), txn)
			if err != nil {
				t.Fatal(err)
			}
			if res.ResponseCode != tt.wantRC || res.Approved() != (tt.wantRC == "00") {
				t.Fatalf("rc %s approved %v, want %s", res.ResponseCode, res.Approved(), tt.wantRC)
			}
			if st := q.state(t, txn.ID); st != "" {
				t.Fatalf("reversal left in state %q after a decline", st)
			}
		})
	}
}

func TestARQCFailureDeclines(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, nil)
	tests := []struct {
		name   string
		tamper func(icc []byte) []byte
	}{
		{name: "cryptogram bit flipped", tamper: func(icc []byte) []byte {
			list, _ := tlv.Parse(icc)
			v := tlv.Value(list, 0x9F26)
			v[0] ^= 1 // Value aliases icc
			return icc
		}},
		{name: "amount changed after the card signed", tamper: func(icc []byte) []byte {
			list, _ := tlv.Parse(icc)
			v := tlv.Value(list, 0x9F02)
			v[5] ^= 0x01
			return icc
		}},
		{name: "cryptogram missing", tamper: func(icc []byte) []byte {
			list, _ := tlv.Parse(icc)
			var out []byte
			for _, o := range list {
				if o.Tag != 0x9F26 {
					out = tlv.Append(out, o.Tag, o.Value)
				}
			}
			return out
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txn := card(t, "arqc-"+string(rune('a'+i)), 900)
			txn.ICC = tt.tamper(txn.ICC)
			res, err := c.Purchase(ctxT(t), txn)
			if err != nil {
				t.Fatal(err)
			}
			if res.Approved() || res.ResponseCode != uplink.RCCryptogramFailed {
				t.Fatalf("rc %s, want %s", res.ResponseCode, uplink.RCCryptogramFailed)
			}
			if list, _ := tlv.Parse(res.ICC); tlv.Value(list, 0x91) != nil {
				t.Fatal("ARPC returned for a failed ARQC")
			}
		})
	}
	if got := e.srv.Stats.ARQCFailed.Load(); got != int64(len(tests)) {
		t.Fatalf("server counted %d ARQC failures, want %d", got, len(tests))
	}
}

// TestFaultsReverse covers every fault that can leave money moved without
// an answer: the transaction fails as an acquirer error, its reversal is
// released and goes out exactly once.
func TestFaultsReverse(t *testing.T) {
	tests := []struct {
		name        string
		fault       string
		wantErr     error
		wantOrigJnl bool // the original reached the journal (money moved at the host)
	}{
		{name: "drop before reading", fault: "drop_before", wantErr: uplink.ErrNoResponse},
		{name: "drop after reading", fault: "drop_after", wantErr: uplink.ErrNoResponse, wantOrigJnl: true},
		{name: "garbage response", fault: "garbage", wantErr: uplink.ErrMalformed, wantOrigJnl: true},
		{name: "bad bitmap", fault: "bad_bitmap", wantErr: uplink.ErrMalformed, wantOrigJnl: true},
		{name: "truncated response", fault: "truncated", wantErr: uplink.ErrMalformed, wantOrigJnl: true},
		{name: "missing response code", fault: "missing_field", wantErr: uplink.ErrBadResponse, wantOrigJnl: true},
		{name: "length header lies", fault: "bad_length", wantErr: uplink.ErrNoResponse, wantOrigJnl: true},
		{name: "slower than the timeout", fault: "delay", wantErr: uplink.ErrNoResponse, wantOrigJnl: true},
	}
	for _, qk := range queueKinds {
		for _, tt := range tests {
			t.Run(qk.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				rule := `{"rules":[{"amount":4242,"mti":["0200"],"fault":"` + tt.fault + `"}]}`
				if tt.fault == "delay" {
					rule = `{"rules":[{"amount":4242,"mti":["0200"],"delay":"1500ms"}]}`
				}
				e := newEnv(t, rule, acqsim.Fault{})
				q := qk.open(t)
				// Generous: only the delay case may time out, even on a loaded machine.
				c, logs := e.client(t, q, func(cfg *uplink.Config) { cfg.ResponseTimeout = time.Second })
				waitReady(t, c)
				txn := card(t, "fault-"+tt.fault, 4242)
				_, err := c.Purchase(ctxT(t), txn)
				var te *uplink.TxnError
				if !errors.As(err, &te) || !te.Reversed || !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want *TxnError{Reversed} matching %v", err, tt.wantErr)
				}
				checkNoPAN(t, "error", errString(err))
				if st := q.state(t, txn.ID); st != offline.StatePending {
					t.Fatalf("reversal state %q, want pending", st)
				}
				if got := e.count(t, acqsim.KindFinancial); (got == 1) != tt.wantOrigJnl {
					t.Fatalf("journal has %d financial records, want original journalled = %v", got, tt.wantOrigJnl)
				}
				// The forwarder sends the 0400 (the client reconnects first).
				eventually(t, "reversal acknowledged", func() bool {
					q.drain(t, c)
					return q.state(t, txn.ID) == offline.StateDone
				})
				tot := e.totals(t)
				// Exactly one reversal counted. (On a loaded machine a slow 0410
				// can make the forwarder repeat it: the host then marks the
				// 0401 duplicate and does not count it.)
				if r := tot.ByKind[acqsim.KindReversal]; r == nil || r.Count != 1 {
					t.Fatalf("journal reversals %+v, want exactly 1 counted", r)
				}
				if tot.Net[currency] != 0 {
					t.Fatalf("net %d after reversal, want 0", tot.Net[currency])
				}
				if tt.fault == "delay" {
					// The late 0210 arrives after the reversal: logged, ignored.
					eventually(t, "late response", func() bool { return c.Stats().Late.Load() >= 1 })
					if n := c.Stats().Late.Load(); n != 1 {
						t.Fatalf("%d late responses, want 1 (connects %d)\n%s", n, c.Stats().Connects.Load(), logs.String())
					}
					if !strings.Contains(logs.String(), "late response ignored") {
						t.Fatal("late response not logged")
					}
				}
			})
		}
	}
}

func TestReversalSentOnceAfterTimeoutAndRepeatIsDuplicate(t *testing.T) {
	e := newEnv(t, `{"rules":[{"amount":777,"mti":["0200"],"delay":"2s"}]}`, acqsim.Fault{})
	q := openStore(t)
	c, _ := e.client(t, q, func(cfg *uplink.Config) { cfg.ResponseTimeout = 700 * time.Millisecond })
	waitReady(t, c)
	txn := card(t, "timeout-once", 777)
	if _, err := c.Purchase(ctxT(t), txn); !errors.Is(err, uplink.ErrNoResponse) {
		t.Fatalf("err = %v, want ErrNoResponse", err)
	}
	// Reversal and the late 0210 share the STAN: the 0410 must still match.
	if n := q.drain(t, c); n != 1 {
		t.Fatalf("forwarded %d entries, want 1", n)
	}
	if st := q.state(t, txn.ID); st != offline.StateDone {
		t.Fatalf("state %q, want done", st)
	}
	for i := 0; i < 3; i++ {
		if n := q.drain(t, c); n != 0 {
			t.Fatalf("round %d forwarded %d entries again", i, n)
		}
	}
	eventually(t, "late 0210", func() bool { return c.Stats().Late.Load() == 1 })
	// A crash between send and acknowledgement makes the forwarder repeat
	// (0401): the host acknowledges and marks it duplicate, not counted twice.
	e2, err := q.Get(txn.ID)
	if err != nil {
		t.Fatal(err)
	}
	e2.Repeat = true
	if err := c.Forward(ctxT(t), e2); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	tot := e.totals(t)
	if r := tot.ByKind[acqsim.KindReversal]; r == nil || r.Count != 1 || tot.Duplicates != 1 {
		t.Fatalf("reversals %+v duplicates %d, want 1 counted and 1 duplicate", r, tot.Duplicates)
	}
	if tot.Net[currency] != 0 {
		t.Fatalf("net %d, want 0", tot.Net[currency])
	}
}

func TestCashierAbortReverses(t *testing.T) {
	e := newEnv(t, `{"rules":[{"amount":31,"delay":"400ms"}]}`, acqsim.Fault{})
	q := openStore(t)
	c, _ := e.client(t, q, nil)
	waitReady(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	txn := card(t, "abort-1", 31)
	_, err := c.Purchase(ctx, txn)
	var te *uplink.TxnError
	if !errors.Is(err, uplink.ErrAborted) || !errors.As(err, &te) || !te.Reversed {
		t.Fatalf("err = %v, want ErrAborted with reversal", err)
	}
	if st := q.state(t, txn.ID); st != offline.StatePending {
		t.Fatalf("state %q, want pending", st)
	}
	eventually(t, "reversal done", func() bool { q.drain(t, c); return q.state(t, txn.ID) == offline.StateDone })
}

func TestReverseAfterApproval(t *testing.T) {
	for _, qk := range queueKinds {
		t.Run(qk.name, func(t *testing.T) {
			e := newEnv(t, "", acqsim.Fault{})
			q := qk.open(t)
			c, _ := e.client(t, q, nil)
			res, err := c.Purchase(ctxT(t), card(t, "after-1", 5000))
			if err != nil || !res.Approved() {
				t.Fatalf("purchase: %v %v", res, err)
			}
			// The card declined the second GENERATE AC: reverse (0420).
			if err := c.Reverse(ctxT(t), res, uplink.ReasonMalfunction); err != nil {
				t.Fatal(err)
			}
			if err := c.Reverse(ctxT(t), res, uplink.ReasonMalfunction); err != nil {
				t.Fatalf("second Reverse not idempotent: %v", err)
			}
			eventually(t, "reversal done", func() bool { q.drain(t, c); return q.state(t, "after-1") == offline.StateDone })
			tot := e.totals(t)
			if r := tot.ByKind[acqsim.KindReversal]; r == nil || r.Count != 1 || tot.Net[currency] != 0 {
				t.Fatalf("reversals %+v net %v", r, tot.Net)
			}
			if err := c.Reverse(ctxT(t), uplink.Result{}, uplink.ReasonMalfunction); !errors.Is(err, uplink.ErrInvalid) {
				t.Fatalf("Reverse of an empty result: %v", err)
			}
		})
	}
}

func TestAdvices(t *testing.T) {
	e := newEnv(t, `{"rules":[{"mti":["0220","0221"],"amount":666,"response_code":"05"}]}`, acqsim.Fault{})
	q := openStore(t)
	c, _ := e.client(t, q, nil)
	var events []offline.Event
	f := &offline.Forwarder{Store: q.Store, Sender: c, BackoffBase: time.Millisecond,
		OnEvent: func(ev offline.Event) { events = append(events, ev) }}
	if err := c.Advice(ctxT(t), card(t, "adv-ok", 1500), "Y1    "); err != nil {
		t.Fatal(err)
	}
	if err := c.Advice(ctxT(t), card(t, "adv-declined", 666), "Y1    "); err != nil {
		t.Fatal(err)
	}
	if err := c.Advice(ctxT(t), card(t, "adv-ok", 1500), "Y1    "); !errors.Is(err, uplink.ErrDuplicate) {
		t.Fatalf("same advice id twice: %v, want ErrDuplicate", err)
	}
	if n, err := f.Step(ctxT(t)); err != nil || n != 2 {
		t.Fatalf("step: %d %v", n, err)
	}
	if q.state(t, "adv-ok") != offline.StateDone || q.state(t, "adv-declined") != offline.StateDone {
		t.Fatal("advices not done")
	}
	if len(events) != 1 || events[0].Type != offline.EventDeclinedOffline || events[0].ID != "adv-declined" {
		t.Fatalf("events %+v, want one declined offline approval", events)
	}
	// Repeat after a crash: acknowledged as duplicate.
	ent, _ := q.Get("adv-ok")
	ent.Repeat = true
	if err := c.Forward(ctxT(t), ent); err != nil {
		t.Fatal(err)
	}
	tot := e.totals(t)
	if a := tot.ByKind[acqsim.KindAdvice]; a == nil || a.Count != 2 || a.Approved != 1 || tot.Duplicates != 1 || tot.Net[currency] != 1500 {
		t.Fatalf("advices %+v duplicates %d net %v", a, tot.Duplicates, tot.Net)
	}
}

func TestQRPayment(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	q := memQueue{acqsim.NewMemQueue()}
	c, _ := e.client(t, q, nil)
	txn := uplink.Transaction{ID: "qr-1", Amount: 880, Currency: currency, EntryMode: uplink.EntryQR,
		QR: "hQVDUFYwMWESTwegAAAAAwEBUAdWSVNBIENS"} // 61 length 0x12: the payload must be valid CPM (acqsim checks it)
	res, err := c.Authorize(ctxT(t), txn)
	if err != nil || !res.Approved() || res.MTI != uplink.MTIAuthResponse {
		t.Fatalf("QR auth: %v %v", res, err)
	}
	if a := e.totals(t).ByKind[acqsim.KindAuth]; a == nil || a.Approved != 1 {
		t.Fatalf("auth totals %+v", a)
	}
}

func TestDownThenUpReconnects(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{Kind: acqsim.FaultDown})
	q := openStore(t)
	c, _ := e.client(t, q, func(cfg *uplink.Config) { cfg.ConnectWait = 200 * time.Millisecond })
	txn := card(t, "down-1", 100)
	_, err := c.Purchase(ctxT(t), txn)
	var te *uplink.TxnError
	if !errors.Is(err, uplink.ErrUnavailable) || !errors.As(err, &te) || te.Reversed {
		t.Fatalf("err = %v, want ErrUnavailable without reversal", err)
	}
	if st := q.state(t, txn.ID); st != "" {
		t.Fatalf("nothing was sent, but an entry is in state %q", st)
	}
	// Backoff: 10 ms doubling to 100 ms (+-20 %) gives about 8 attempts
	// in 600 ms; retrying in a loop would give hundreds.
	time.Sleep(400 * time.Millisecond)
	if n := e.srv.Stats.Faults.Load(); n < 3 || n > 20 {
		t.Fatalf("%d connection attempts while down, want backoff (3-20)", n)
	}
	e.srv.SetFault(acqsim.Fault{})
	waitReady(t, c)
	if res, err := c.Purchase(ctxT(t), txn); err != nil || !res.Approved() {
		t.Fatalf("after reconnect: %v %v", res, err)
	}
}

func TestCloseAfterNReconnects(t *testing.T) {
	// Message 1 is the sign-on, message 2 the purchase: answered, then closed.
	e := newEnv(t, "", acqsim.Fault{CloseAfter: 2})
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, nil)
	for i, id := range []string{"ca-1", "ca-2", "ca-3"} {
		// A request racing the host's close would be reversed (safe, and
		// tested elsewhere); here wait for the reconnect.
		eventually(t, "reconnect", func() bool { return c.Stats().Connects.Load() == int64(i+1) && c.Ready() })
		res, err := c.Purchase(ctxT(t), card(t, id, int64(100+i)))
		if err != nil || !res.Approved() {
			t.Fatalf("%s: %v %v", id, res, err)
		}
	}
	if n := c.Stats().Connects.Load(); n < 3 {
		t.Fatalf("connects %d, want >= 3 (one per closed connection)", n)
	}
}

func TestCloseAfterPerRule(t *testing.T) {
	e := newEnv(t, `{"rules":[{"mti":["0200"],"close_after":1}]}`, acqsim.Fault{})
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, nil)
	for i, id := range []string{"rc-1", "rc-2"} {
		eventually(t, "reconnect", func() bool { return c.Stats().Connects.Load() == int64(i+1) && c.Ready() })
		if res, err := c.Purchase(ctxT(t), card(t, id, 10)); err != nil || !res.Approved() {
			t.Fatalf("%s: %v %v", id, res, err)
		}
	}
	if n := c.Stats().Connects.Load(); n < 2 {
		t.Fatalf("connects %d, want >= 2", n)
	}
}

func TestPinning(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	srvCert := func() string {
		cfg, err := acqsim.ServerTLS(tlsDir)
		if err != nil {
			t.Fatal(err)
		}
		leaf := cfg.Certificates[0].Leaf
		h := uplink.SPKIHash(leaf)
		return "sha256/" + b64(h[:])
	}()
	tests := []struct {
		name string
		pin  string
		ok   bool
	}{
		{name: "matching pin", pin: srvCert, ok: true},
		{name: "other key pinned", pin: strings.Repeat("ab", 32), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memQueue{acqsim.NewMemQueue()}
			c, _ := e.client(t, q, func(cfg *uplink.Config) {
				cfg.TLS = clientTLS(t, tt.pin)
				cfg.ConnectWait = 300 * time.Millisecond
			})
			_, err := c.Purchase(ctxT(t), card(t, "pin-"+tt.name, 10))
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *uplink.PinError
			if !errors.Is(err, uplink.ErrUnavailable) || !errors.As(err, &pe) || !errors.Is(err, uplink.ErrPinMismatch) {
				t.Fatalf("err = %v, want ErrUnavailable caused by *PinError", err)
			}
			if len(q.Pending(offline.StateHeld))+len(q.Pending(offline.StatePending)) != 0 {
				t.Fatal("an entry was armed though nothing was sent")
			}
		})
	}
}

func TestEchoWhenIdle(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, func(cfg *uplink.Config) { cfg.EchoInterval = 40 * time.Millisecond })
	waitReady(t, c)
	eventually(t, "two echoes", func() bool { return c.Stats().Echoes.Load() >= 2 })
	if n := c.Stats().Connects.Load(); n != 1 {
		t.Fatalf("connects %d, want 1 (echo keeps the connection)", n)
	}
}

func TestEchoUnansweredReconnects(t *testing.T) {
	e := newEnv(t, `{"rules":[{"mti":["0800"],"delay":"1s"}]}`, acqsim.Fault{})
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, func(cfg *uplink.Config) {
		cfg.ResponseTimeout = 100 * time.Millisecond
		cfg.EchoInterval = 50 * time.Millisecond
		cfg.DialTimeout = 2 * time.Second
	})
	// Sign-on itself is delayed past the timeout: connect attempts fail.
	time.Sleep(400 * time.Millisecond)
	if c.Ready() {
		t.Fatal("ready although sign-on never answered in time")
	}
	if c.Stats().SignOns.Load() != 0 {
		t.Fatal("signed on")
	}
}

func TestDuplicateTransactionID(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	q := openStore(t)
	c, _ := e.client(t, q, func(cfg *uplink.Config) { cfg.ResponseTimeout = 300 * time.Millisecond })
	e.srv.SetFault(acqsim.Fault{})
	waitReady(t, c)
	// A reversal is queued for dup-1 (the host drops it): the same id must
	// not be sent again while it is outstanding.
	e2 := newEnv(t, `{"rules":[{"fault":"drop_after","mti":["0200"]}]}`, acqsim.Fault{})
	c2, _ := e2.client(t, q, func(cfg *uplink.Config) { cfg.ResponseTimeout = 300 * time.Millisecond })
	if _, err := c2.Purchase(ctxT(t), card(t, "dup-1", 10)); !errors.Is(err, uplink.ErrNoResponse) {
		t.Fatalf("first: %v", err)
	}
	if _, err := c.Purchase(ctxT(t), card(t, "dup-1", 10)); !errors.Is(err, uplink.ErrDuplicate) {
		t.Fatalf("second: %v, want ErrDuplicate", err)
	}
}

func TestInvalidTransactions(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	q := memQueue{acqsim.NewMemQueue()}
	c, _ := e.client(t, q, nil)
	good := card(t, "inv", 10)
	tests := []struct {
		name string
		edit func(*uplink.Transaction)
	}{
		{"no id", func(x *uplink.Transaction) { x.ID = "" }},
		{"zero amount", func(x *uplink.Transaction) { x.Amount = 0 }},
		{"alpha currency", func(x *uplink.Transaction) { x.Currency = "EUR" }},
		{"no card data", func(x *uplink.Transaction) { x.PAN = good.PAN; x.PAN = uplink.Transaction{}.PAN }},
		{"bad entry mode", func(x *uplink.Transaction) { x.EntryMode = "07" }},
		{"ICC too long for field 55", func(x *uplink.Transaction) { x.ICC = tlv.Append(nil, 0x9F10, make([]byte, 300)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := good
			tt.edit(&x)
			_, err := c.Purchase(ctxT(t), x)
			if !errors.Is(err, uplink.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if len(q.Pending(offline.StateHeld)) != 0 {
				t.Fatal("armed a reversal for an invalid transaction")
			}
		})
	}
}

// TestPerRunFaultsBlockSignOn: a fault applied to the whole run hits the
// sign-on first, so the terminal never considers the link up and nothing
// is sent (or armed).
func TestPerRunFaultsBlockSignOn(t *testing.T) {
	tests := []struct {
		name  string
		fault acqsim.Fault
	}{
		{"down", acqsim.Fault{Kind: acqsim.FaultDown}},
		{"drop before", acqsim.Fault{Kind: acqsim.FaultDropBefore}},
		{"drop after", acqsim.Fault{Kind: acqsim.FaultDropAfter}},
		{"garbage", acqsim.Fault{Kind: acqsim.FaultGarbage}},
		{"bad bitmap", acqsim.Fault{Kind: acqsim.FaultBadBitmap}},
		{"missing field", acqsim.Fault{Kind: acqsim.FaultMissingField}},
		{"slow", acqsim.Fault{Delay: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "", tt.fault)
			q := openStore(t)
			c, _ := e.client(t, q, func(cfg *uplink.Config) {
				cfg.ConnectWait = 300 * time.Millisecond
				cfg.ResponseTimeout = 100 * time.Millisecond
			})
			txn := card(t, "perrun", 10)
			_, err := c.Purchase(ctxT(t), txn)
			if !errors.Is(err, uplink.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if st := q.state(t, txn.ID); st != "" {
				t.Fatalf("entry in state %q though nothing was sent", st)
			}
			if e.count(t, acqsim.KindFinancial) != 0 {
				t.Fatal("host journalled a purchase")
			}
		})
	}
}

// TestWireVariants runs a purchase end to end with each network length
// header and with an acquirer spec variant loaded from a JSON file.
func TestWireVariants(t *testing.T) {
	variant := func(t *testing.T) *iso8583.MessageSpec {
		raw, err := os.ReadFile(filepath.Join("testdata", "spec-default.json"))
		if err != nil {
			t.Fatal(err)
		}
		// Field 55 with a 2-byte binary length instead of 3 ASCII digits.
		spec, err := uplink.ParseSpec([]byte(strings.Replace(string(raw), `"prefix": "ASCII.LLL"`, `"prefix": "Binary.LL"`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	tests := []struct {
		name    string
		header  uplink.Header
		variant bool
	}{
		{"binary2", uplink.HeaderBinary2, false},
		{"bcd2", uplink.HeaderBCD2, false},
		{"ascii4", uplink.HeaderASCII4, false},
		{"ascii4 + JSON spec variant", uplink.HeaderASCII4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec *iso8583.MessageSpec
			if tt.variant {
				spec = variant(t)
			}
			e := newEnv(t, "", acqsim.Fault{}, func(c *acqsim.Config) { c.Header, c.Spec = tt.header, spec })
			c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, func(c *uplink.Config) { c.Header, c.Spec = tt.header, spec })
			res, err := c.Purchase(ctxT(t), card(t, "wire-"+tt.name, 321))
			if err != nil || !res.Approved() || len(res.ICC) == 0 {
				t.Fatalf("%v %v", res, err)
			}
		})
	}
	// Mismatched headers: the client must not get a link up.
	e := newEnv(t, "", acqsim.Fault{}, func(c *acqsim.Config) { c.Header = uplink.HeaderASCII4 })
	c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, func(c *uplink.Config) {
		c.ConnectWait = 200 * time.Millisecond
		c.ResponseTimeout = 100 * time.Millisecond
	})
	if _, err := c.Purchase(ctxT(t), card(t, "wire-mismatch", 1)); !errors.Is(err, uplink.ErrUnavailable) {
		t.Fatalf("mismatched headers: %v", err)
	}
}

func TestTLSVersionsAndClientCertificate(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	tests := []struct {
		name string
		edit func(*tls.Config)
		ok   bool
	}{
		{"TLS 1.3", func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, true},
		{"TLS 1.2", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, true},
		{"TLS 1.1 refused", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, false},
		{"no client certificate", func(c *tls.Config) { c.Certificates = nil }, false},
		{"unknown CA", func(c *tls.Config) { c.RootCAs = x509.NewCertPool() }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := e.client(t, memQueue{acqsim.NewMemQueue()}, func(cfg *uplink.Config) {
				tt.edit(cfg.TLS)
				cfg.ConnectWait = 300 * time.Millisecond
			})
			res, err := c.Purchase(ctxT(t), card(t, fmt.Sprintf("tls-%d", i), 10))
			if tt.ok != (err == nil && res.Approved()) {
				t.Fatalf("ok = %v, want %v (%v)", err == nil, tt.ok, err)
			}
			if !tt.ok && !errors.Is(err, uplink.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestAdviceCountsPerCard: advices queued through the uplink carry the
// card's HMAC key, so the offline store's per-card velocity limit applies.
func TestAdviceCountsPerCard(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	s, err := offline.Open(filepath.Join(t.TempDir(), "queue.db"), offline.Options{
		Limits: map[string]offline.Limit{"*": {PerTransaction: 100000, CardCount: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, _ := e.client(t, s, nil)
	if err := c.Advice(ctxT(t), card(t, "velocity-1", 1500), "Y1    "); err != nil {
		t.Fatal(err)
	}
	ent, err := s.Get("velocity-1")
	if err != nil || len(ent.CardKey) == 0 {
		t.Fatalf("advice entry has no card key: %v", err)
	}
	err = c.Advice(ctxT(t), card(t, "velocity-2", 1500), "Y1    ")
	var le *offline.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("second offline approval on the same card: %v, want a per-card LimitError", err)
	}
}

// TestAdviceCardKeyTrack2Only: a card with no PAN (5A), only track 2, is
// keyed by the PAN of its track 2: two such cards get different velocity
// keys (they no longer share the key of an empty PAN), and the same card
// keeps its key whether the PAN came from 5A or from track 2.
func TestAdviceCardKeyTrack2Only(t *testing.T) {
	e := newEnv(t, "", acqsim.Fault{})
	s, err := offline.Open(filepath.Join(t.TempDir(), "queue.db"), offline.Options{
		Limits: map[string]offline.Limit{"*": {PerTransaction: 100000, CardCount: 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, _ := e.client(t, s, nil)
	track2Only := func(id, digits string) uplink.Transaction {
		tx := card(t, id, 1500)
		tr, err := pan.ParseTrack2(append(hexDigits(t, digits+"D2812201"), 0x0F))
		if err != nil {
			t.Fatal(err)
		}
		tx.PAN, tx.Track2 = pan.PAN{}, &tr
		return tx
	}
	key := func(id string) string {
		ent, err := s.Get(id)
		if err != nil || len(ent.CardKey) == 0 {
			t.Fatalf("%s: no card key: %v", id, err)
		}
		return string(ent.CardKey)
	}
	for _, tx := range []uplink.Transaction{
		track2Only("t2-a", "4761739001010010"), track2Only("t2-b", "4000123412341234"), card(t, "5a-a", 1500),
	} {
		if err := c.Advice(ctxT(t), tx, "Y1    "); err != nil {
			t.Fatal(err)
		}
	}
	if key("t2-a") == key("t2-b") {
		t.Error("two track-2-only cards share one velocity key")
	}
	if key("t2-a") != key("5a-a") { // testPAN is 4761739001010010
		t.Error("the same card has another key when its PAN comes from track 2")
	}
}

func hexDigits(t *testing.T, s string) []byte {
	t.Helper()
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
