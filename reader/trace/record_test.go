package trace

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/tlv"
)

// The software cards of emv/cardsim are real cards in software: real
// records, certificates, fDDA/DDA/CDA signatures and cryptograms.
var recordPresets = []string{"visa", "mastercard", "amex-dda", "unionpay"}

var liveDate = time.Date(2027, 6, 1, 10, 30, 0, 0, time.UTC)

// liveSession runs the kernel against a fresh software card through a
// Recorder and returns the kernel's result and the recorder.
func liveSession(t *testing.T, preset string, opts RecordOptions) (*emv.Result, *Recorder, cardsim.Profile) {
	t.Helper()
	p, err := cardsim.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	card, err := cardsim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(card, opts)
	term := &emv.Terminal{Config: testKeysConfig(), Now: func() time.Time { return liveDate }}
	res, err := term.Run(context.Background(), rec, emv.Transaction{Amount: 1234})
	if err != nil {
		t.Fatalf("live run: %v", err)
	}
	return res, rec, p
}

// replay writes and re-parses tr (as a file would be), then runs the
// kernel on it as "posagent trace replay" does: "now" is the recorded date
// (far past every expiry when there is none) and another random source.
func replay(t *testing.T, tr *Trace) (*emv.Result, *Replayer) {
	t.Helper()
	var file bytes.Buffer
	if _, err := tr.WriteTo(&file); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(&file)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReplayer(back)
	late := time.Date(2049, 1, 1, 0, 0, 0, 0, time.UTC)
	if d, ok := RecordedDate(back); ok {
		late = d
	}
	term := &emv.Terminal{Config: testKeysConfig(), Now: func() time.Time { return late },
		Rand: bytes.NewReader(bytes.Repeat([]byte{0x5A}, 64))}
	res, err := term.Run(context.Background(), r, emv.Transaction{Amount: 1})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return res, r
}

// An unmasked recording replays exactly: same commands (the kernel takes
// date, amount and unpredictable number from the recorded commands), same
// outcome, and ODA verifies as it did live although "now" is past every
// certificate's expiry.
func TestRecordReplayUnmasked(t *testing.T) {
	verified := 0
	for _, preset := range recordPresets {
		t.Run(preset, func(t *testing.T) {
			live, rec, _ := liveSession(t, preset, RecordOptions{Unmasked: true})
			tr := rec.Trace()
			if tr.Get("masked") != "no" || len(tr.Exchanges) != live.Commands {
				t.Fatalf("masked=%q, %d exchanges for %d commands", tr.Get("masked"), len(tr.Exchanges), live.Commands)
			}
			d, ok := RecordedDate(tr)
			if y, m, day := d.Date(); !ok || y != liveDate.Year() || m != liveDate.Month() || day != liveDate.Day() {
				t.Fatalf("RecordedDate = %v, %v; want %v", d, ok, liveDate)
			}
			got, r := replay(t, tr)
			if d := r.Divergence(); d != nil {
				t.Fatalf("divergence: %+v", d)
			}
			if r.Sent() != live.Commands || r.Unused() != 0 {
				t.Fatalf("sent %d unused %d; live sent %d", r.Sent(), r.Unused(), live.Commands)
			}
			lr, gr := live.Report(), got.Report()
			if gr.Outcome != lr.Outcome || gr.PAN != lr.PAN || gr.AID != lr.AID || gr.Expiry != lr.Expiry ||
				gr.Cryptogram != lr.Cryptogram || gr.Kernel != lr.Kernel {
				t.Fatalf("replay %+v\nlive   %+v", gr, lr)
			}
			if gr.ODA == nil || *gr.ODA != *lr.ODA {
				t.Fatalf("replay ODA %+v, live %+v", gr.ODA, lr.ODA)
			}
			t.Logf("live and replayed ODA: %+v", *lr.ODA)
			if lr.ODA.Result == emv.ODAOK {
				verified++
			}
		})
	}
	if verified == 0 {
		t.Fatal("no preset verified ODA live: the replay of a verified signature was not tested")
	}
}

// A masked recording holds no PAN, track 2 discretionary data, name or
// cryptogram, keeps every response's TLV structure, and still replays to
// the same masked PAN and outcome path (ODA then fails: it covers the PAN).
func TestRecorderMasks(t *testing.T) {
	for _, preset := range recordPresets {
		t.Run(preset, func(t *testing.T) {
			live, rec, p := liveSession(t, preset, RecordOptions{Meta: []Meta{{"scheme", preset}}})
			masked := rec.Trace()
			plain := Mask(masked) // masking is idempotent
			if masked.Get("masked") != "yes" || masked.Get("scheme") != preset {
				t.Fatalf("meta %+v", masked.Meta)
			}
			var file bytes.Buffer
			if _, err := masked.WriteTo(&file); err != nil {
				t.Fatal(err)
			}
			text := file.String()
			var all []byte
			for _, ex := range masked.Exchanges {
				all = append(all, ex.Command...)
				all = append(all, ex.Response...)
			}
			hexAll := strings.ToUpper(hex.EncodeToString(all))
			panBCD := strings.ToUpper(p.PAN[:len(p.PAN)&^1])
			if strings.Contains(hexAll, panBCD) || bytes.Contains(all, []byte(p.PAN)) || strings.Contains(text, p.PAN) {
				t.Fatalf("full PAN %s present in the masked recording", p.PAN[:6])
			}
			// Same shape as the unmasked recording, value by value.
			rec.opts.Unmasked = true
			raw := rec.Trace()
			sawPAN, sawTrack := false, false
			for i, ex := range masked.Exchanges {
				rex := raw.Exchanges[i]
				if len(ex.Command) != len(rex.Command) || len(ex.Response) != len(rex.Response) {
					t.Fatalf("exchange %d: lengths changed", i)
				}
				mo, merr := tlv.Parse(ex.Response[:len(ex.Response)-2])
				ro, rerr := tlv.Parse(rex.Response[:len(rex.Response)-2])
				if (merr == nil) != (rerr == nil) {
					t.Fatalf("exchange %d: TLV parse masked %v, raw %v", i, merr, rerr)
				}
				var mv, rv []tlv.TLV
				tlv.Walk(mo, func(o tlv.TLV) { mv = append(mv, o) })
				tlv.Walk(ro, func(o tlv.TLV) { rv = append(rv, o) })
				if len(mv) != len(rv) {
					t.Fatalf("exchange %d: %d objects masked, %d raw", i, len(mv), len(rv))
				}
				for k := range mv {
					m, r := mv[k], rv[k]
					if m.Tag != r.Tag || m.Offset != r.Offset || len(m.Value) != len(r.Value) {
						t.Fatalf("exchange %d object %d: %s/%d masked vs %s/%d", i, k, m.Tag, len(m.Value), r.Tag, len(r.Value))
					}
					switch m.Tag {
					case 0x5A:
						sawPAN = true
						want := hex.EncodeToString(r.Value)[:6] + strings.Repeat("9", len(p.PAN)-10) + p.PAN[len(p.PAN)-4:]
						if got := hex.EncodeToString(m.Value); !strings.HasPrefix(got, want) {
							t.Fatalf("5A masked to %s…, want prefix %s", got[:6], want[:6])
						}
					case 0x57:
						sawTrack = true
						mh, rh := strings.ToUpper(hex.EncodeToString(m.Value)), strings.ToUpper(hex.EncodeToString(r.Value))
						d := strings.IndexByte(rh, 'D')
						if d < 0 || strings.IndexByte(mh, 'D') != d || mh[d:d+8] != rh[d:d+8] {
							t.Fatalf("57: separator, expiry or service code not kept")
						}
						if strings.Trim(mh[d+8:], "0F") != "" {
							t.Fatalf("57: discretionary data not zeroed")
						}
					case 0x9F26:
						if !bytes.Equal(m.Value, make([]byte, len(m.Value))) {
							t.Fatal("9F26 application cryptogram not masked")
						}
					case 0x5F20:
						if strings.Trim(string(m.Value), "X /") != "" {
							t.Fatalf("5F20 not masked")
						}
					}
				}
			}
			if !sawPAN && !sawTrack {
				t.Fatal("the session holds neither 5A nor 57: nothing was tested")
			}
			if !equalTrace(plain, masked) {
				t.Fatal("Mask of a masked trace changed it")
			}
			got, _ := replay(t, masked)
			if got.Report().PAN != live.Report().PAN || got.Report().Expiry != live.Report().Expiry {
				t.Fatalf("masked replay PAN %v expiry %v; live %v %v", got.Report().PAN, got.Report().Expiry, live.Report().PAN, live.Report().Expiry)
			}
		})
	}
}

func equalTrace(a, b *Trace) bool {
	if len(a.Exchanges) != len(b.Exchanges) {
		return false
	}
	for i := range a.Exchanges {
		if !bytes.Equal(a.Exchanges[i].Command, b.Exchanges[i].Command) || !bytes.Equal(a.Exchanges[i].Response, b.Exchanges[i].Response) {
			return false
		}
	}
	return true
}

func TestMaskValues(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cmd, resp string
		want      string // masked response (or command, for VERIFY)
		inCommand bool
	}{
		{"5A 16 digits", "00B2010C00", "70 0A 5A 08 47 61 73 90 01 01 00 10 9000",
			"70 0A 5A 08 47 61 73 99 99 99 00 10 9000", false},
		{"5A 19 digits padded", "00B2010C00", "5A 0A 62 12 34 56 78 90 12 34 56 7F 9000",
			"5A 0A 62 12 34 99 99 99 99 94 56 7F 9000", false},
		{"57 track 2 in GPO template", "80A8000002830000", "77 15 57 13 47 61 73 90 01 01 00 10 D3 01 22 01 12 34 56 78 90 12 3F 9000",
			"77 15 57 13 47 61 73 99 99 99 00 10 D3 01 22 01 00 00 00 00 00 00 0F 9000", false},
		{"9F6B nested", "00B2010C00", "70 0E BF 0C 0B 9F 6B 08 52 00 00 12 34 00 00 0F 9000",
			"70 0E BF 0C 0B 9F 6B 08 52 00 00 99 99 90 00 0F 9000", false},
		{"56 track 1", "00B2010C00", "56 21 42 34 37 36 31 37 33 39 30 30 31 30 31 30 30 31 30 5E 44 4F 45 2F 4A 5E 33 30 31 32 32 30 31 39 39 9000",
			"56 21 42 34 37 36 31 37 33 39 39 39 39 39 39 30 30 31 30 5E 58 58 58 2F 58 5E 33 30 31 32 32 30 31 30 30 9000", false},
		{"5F20 and 9F0B names", "00B2010C00", "70 0D 5F 20 04 44 2F 4A 20 9F 0B 03 41 42 43 9000",
			"70 0D 5F 20 04 58 2F 58 20 9F 0B 03 58 58 58 9000", false},
		{"9F26 cryptogram", "80AE800000", "77 0B 9F 26 08 11 22 33 44 55 66 77 88 9000",
			"77 0B 9F 26 08 00 00 00 00 00 00 00 00 9000", false},
		{"format 1 GENERATE AC", "80AE800000", "80 0D 80 00 01 11 22 33 44 55 66 77 88 06 01 9000",
			"80 0D 80 00 01 00 00 00 00 00 00 00 00 06 01 9000", false},
		{"format 1 GPO untouched", "80A8000002830000", "80 06 20 00 08 01 01 00 9000",
			"80 06 20 00 08 01 01 00 9000", false},
		{"VERIFY PIN block", "0020008008241234FFFFFFFFFF", "9000", "0020008008FFFFFFFFFFFFFFFF", true},
		{"SELECT name untouched", "00A4040007A000000003101000", "9000", "00A4040007A000000003101000", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Trace{Exchanges: []Exchange{{Command: mustHex(t, tc.cmd), Response: mustHex(t, tc.resp)}}}
			before := tr.clone()
			m := Mask(tr)
			got := m.Exchanges[0].Response
			if tc.inCommand {
				got = m.Exchanges[0].Command
			}
			if want := mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("masked\n got %X\nwant %X", got, want)
			}
			if !equalTrace(tr, before) {
				t.Fatal("Mask changed its input")
			}
		})
	}
}

// A PAN seen in one exchange is masked wherever it appears raw: in a
// proprietary record that is not TLV, as BCD and as ASCII.
func TestMaskRawOccurrences(t *testing.T) {
	tr := &Trace{Exchanges: []Exchange{
		{Command: mustHex(t, "00B2010C00"), Response: mustHex(t, "70 0A 5A 08 47 61 73 90 01 01 00 10 9000")},
		{Command: mustHex(t, "00B2015C00"), Response: append(mustHex(t, "01 47 61 73 90 01 01 00 10 FF"), append([]byte("x4761739001010010y"), 0x90, 0x00)...)},
	}}
	m := Mask(tr)
	r := m.Exchanges[1].Response
	if !bytes.Equal(r[:10], mustHex(t, "01 47 61 73 99 99 99 00 10 FF")) {
		t.Fatalf("BCD occurrence: %X", r[:10])
	}
	if string(r[10:28]) != "x4761739999990010y" {
		t.Fatalf("ASCII occurrence: %q", r[10:28])
	}
}

// errCard fails every other command, and answers one byte to the rest.
type errCard struct{ n int }

var errLink = errors.New("link down")

func (c *errCard) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	c.n++
	switch c.n {
	case 1:
		return nil, errLink
	case 2:
		return []byte{0x90}, nil
	}
	return []byte{0x90, 0x00}, nil
}

func TestRecorderTransportTrouble(t *testing.T) {
	rec := NewRecorder(&errCard{}, RecordOptions{})
	ctx := context.Background()
	if _, err := rec.Transmit(ctx, mustHex(t, selPPSE)); !errors.Is(err, errLink) {
		t.Fatalf("err = %v, want the card's error passed through", err)
	}
	if resp, err := rec.Transmit(ctx, mustHex(t, rr1)); err != nil || len(resp) != 1 {
		t.Fatalf("short response not passed through: %X %v", resp, err)
	}
	if _, err := rec.Transmit(ctx, mustHex(t, gpoEmpty)); err != nil {
		t.Fatal(err)
	}
	tr := rec.Trace()
	if len(tr.Exchanges) != 1 || len(tr.Exchanges[0].Comments) != 2 {
		t.Fatalf("%d exchanges, comments %q", len(tr.Exchanges), tr.Exchanges[0].Comments)
	}
	c := tr.Exchanges[0].Comments
	if !strings.Contains(c[0], "transmit failed: link down") || !strings.Contains(c[1], "card answered 1 bytes") {
		t.Fatalf("comments %q", c)
	}
	var b bytes.Buffer
	if _, err := tr.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
}

// testKeysConfig is the default terminal configuration with test CA keys
// allowed (the software cards are signed by posagent's test CAs).
func testKeysConfig() emv.Config {
	c := emv.DefaultConfig()
	c.TestKeys = true
	return c
}

// A replay asks the card what the recording asked: when the kernel's own
// GENERATE AC choice differs (here the replaying terminal's floor limit
// would allow a TC where the live one asked for an ARQC), it sends the
// recorded reference control parameter, reports the difference as a
// divergence, and the recorded answer (ARQC with CDA) verifies.
func TestReplayAdoptsRecordedGenerateACP1(t *testing.T) {
	live, rec, _ := liveSession(t, "mastercard", RecordOptions{Unmasked: true})
	if live.Outcome != emv.OnlineRequest {
		t.Fatalf("live outcome %v (%s), want online_request", live.Outcome, live.Reason)
	}
	r := NewReplayer(rec.Trace())
	cfg := testKeysConfig()
	for i := range cfg.AIDs {
		cfg.AIDs[i].FloorLimit = 100000
	}
	term := &emv.Terminal{Config: cfg, Now: func() time.Time { return liveDate }}
	got, err := term.Run(context.Background(), r, emv.Transaction{Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != emv.OnlineRequest || got.Cryptogram != "ARQC" || got.ODA == nil || got.ODA.Result != emv.ODAOK {
		t.Fatalf("replay %v (%s) %s ODA %+v; want the recorded ARQC with CDA verified", got.Outcome, got.Reason, got.Cryptogram, got.ODA)
	}
	div := r.Divergence()
	if len(div) != 1 || div[0].Command != "80AE9000" || !strings.Contains(div[0].Reason, "GENERATE AC P1 50 (TC with CDA)") {
		t.Fatalf("divergence %+v, want one naming the kernel's P1 50 and the recorded 90", div)
	}
}

// Replay follows the recorded TTQ: a recording made with "ODA for online
// authorisations" set replays with fDDA performed even on a terminal whose
// own TTQ leaves the bit clear.
func TestReplayFollowsRecordedTTQ(t *testing.T) {
	p, _ := cardsim.Preset("visa")
	card, err := cardsim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(card, RecordOptions{Unmasked: true})
	live, err := (&emv.Terminal{Config: testKeysConfig(), Now: func() time.Time { return liveDate }}).Run(context.Background(), rec, emv.Transaction{Amount: 20000})
	if err != nil || live.Outcome != emv.OnlineRequest || live.ODA == nil || live.ODA.Result != emv.ODAOK {
		t.Fatalf("live: %v %v", live, err)
	}
	cfg := testKeysConfig()
	for i := range cfg.AIDs {
		if cfg.AIDs[i].TTQ != nil {
			cfg.AIDs[i].TTQ = emv.HexBytes{0x36, 0x00, 0x40, 0x00}
		}
	}
	r := NewReplayer(rec.Trace())
	got, err := (&emv.Terminal{Config: cfg, Now: func() time.Time { return liveDate }}).Run(context.Background(), r, emv.Transaction{Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.ODA == nil || got.ODA.Method != emv.ODAFDDA || got.ODA.Result != emv.ODAOK || r.Divergence() != nil {
		t.Fatalf("replay ODA %+v, divergence %+v; want fDDA ok as recorded", got.ODA, r.Divergence())
	}
}
