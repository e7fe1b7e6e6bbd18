package uplink

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"posagent/emv/pan"
)

// TestNothingPrintsCardData formats every type that holds card data with
// every verb and through slog: the PAN, track 2, ICC data and QR payload
// must never appear.
func TestNothingPrintsCardData(t *testing.T) {
	m := sampleMessage(t)
	p, _ := pan.Parse(fullPAN)
	txn := Transaction{ID: "x", PAN: p, Track2: m.Track2, Amount: 1, Currency: "978", ICC: m.ICC, QR: m.QR}
	rec := record{V: recordVersion, MTI: MTIReversal, PAN: fullPAN, ICC: m.ICC, QR: m.QR}
	res := Result{TransactionID: "x", ICC: m.ICC, original: rec}
	secrets := []string{fullPAN, m.Track2.Raw(), fmt.Sprintf("%X", m.ICC), fmt.Sprintf("%x", m.ICC), m.QR}
	values := map[string]any{"Message": m, "Transaction": txn, "record": rec, "Result": res, "*Result": &res}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s with %s prints %q: %s", name, verb, s, out)
				}
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		for _, s := range secrets {
			if strings.Contains(buf.String(), s) {
				t.Errorf("%s through slog prints %q: %s", name, s, buf.String())
			}
		}
	}
}
