package leakcheck

import (
	"bytes"
	"context"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/cardsim/perso"
	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/offline"
	"posagent/uplink"
)

// secrets are the byte strings no rendering may contain, in every spelling
// a formatter could produce: digits, hex (both cases), base64, Go's
// decimal byte lists.
type secrets []string

func (s *secrets) bytes(b []byte) {
	if len(b) < 4 {
		return
	}
	*s = append(*s, strings.ToUpper(hex.EncodeToString(b)), hex.EncodeToString(b),
		base64.StdEncoding.EncodeToString(b)[:len(b)*4/3-2], strings.Trim(fmt.Sprint(b[:6]), "[]"))
}

func (s secrets) check(t *testing.T, what, out string) {
	t.Helper()
	for _, v := range s {
		if v != "" && strings.Contains(out, v) {
			t.Errorf("%s shows %q: %s", what, v, out)
		}
	}
}

// TestCardDataNeverLeaks renders every card-data type every way.
func TestCardDataNeverLeaks(t *testing.T) {
	var sec secrets

	// A real kernel result from a software card: PAN, track 2, ARQC and
	// field 55 inside.
	prof, _ := cardsim.Preset("visa")
	card, err := cardsim.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	res, err := (&emv.Terminal{Config: cfg}).Run(context.Background(), card, emv.Transaction{Amount: 20000})
	if err != nil || res.Outcome != emv.OnlineRequest {
		t.Fatalf("kernel: %v %v", res, err)
	}
	sec = append(sec, prof.PAN, res.Track2.Raw())
	objs, _ := tlv.Parse(res.ICCData)
	arqcBytes := tlv.Value(objs, 0x9F26)
	sec.bytes(arqcBytes)
	sec.bytes(res.ICCData)
	if raw := res.Track2.Raw(); len(raw) > 20 {
		sec = append(sec, raw[len(raw)-12:]) // discretionary data
	}

	imk, _ := perso.TestMasterKey("visa")
	sec.bytes(imk[:])
	sec = append(sec, strings.Trim(fmt.Sprint([16]byte(imk)), "[]"))

	p, _ := pan.Parse(prof.PAN)
	payload := []byte(`{"pan":"` + prof.PAN + `","track2":"` + res.Track2.Raw() + `"}`)
	entry := offline.Entry{ID: "adv-1", Kind: offline.KindAdvice, State: offline.StatePending, Amount: 20000,
		Currency: "978", Payload: payload, CardKey: []byte("0123456789abcdef0123")}
	sec = append(sec, string(payload[:20]))
	sec.bytes(entry.CardKey)
	tr := res.Track2
	txn := uplink.Transaction{ID: "t1", PAN: p, Track2: &tr, Amount: 20000, Currency: "978", ICC: res.ICCData}
	ures := uplink.Result{TransactionID: "t1", MTI: "0110", ResponseCode: "00", ICC: res.ICCData}

	values := map[string]any{
		"pan.PAN":            p,
		"pan.Track2":         res.Track2,
		"*pan.Track2":        &tr,
		"emv.Result":         *res,
		"*emv.Result":        res,
		"emv.Report":         res.Report(),
		"offline.Entry":      entry,
		"*offline.Entry":     &entry,
		"arqc.Key":           imk,
		"cardsim.Profile":    prof,
		"uplink.Transaction": txn,
		"uplink.Result":      ures,
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			sec.check(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: json: %v", name, err)
		}
		sec.check(t, name+" json", string(b))
		nested, _ := json.Marshal(map[string]any{"v": v, "list": []any{v}})
		sec.check(t, name+" nested json", string(nested))
		if tm, ok := v.(encoding.TextMarshaler); ok {
			b, _ := tm.MarshalText()
			sec.check(t, name+" text", string(b))
		} else if name != "emv.Report" && !strings.HasPrefix(name, "*") {
			t.Errorf("%s is not an encoding.TextMarshaler", name)
		}
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		log.Info("card", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		sec.check(t, name+" slog", buf.String())
		if _, ok := v.(slog.LogValuer); !ok && name != "emv.Report" && !strings.HasPrefix(name, "*") {
			t.Errorf("%s is not a slog.LogValuer", name)
		}
		wrapped := fmt.Errorf("outer: %w", fmt.Errorf("processing %v: %w", v, errors.New("boom")))
		sec.check(t, name+" error", wrapped.Error())
		sec.check(t, name+" error %+v", fmt.Sprintf("%+v", wrapped))
	}
}
