package nexo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkAnswerEncrypted is nexo's own cost per payment message: open
// the envelope, decode, map, encode and seal the answer (with receipts), on
// the in-memory fake engine (no card, no acquirer).
func BenchmarkAnswerEncrypted(b *testing.B) {
	k := testKey(b, "K", 1, "shared passphrase")
	ring, _ := NewKeyring(k)
	eng := newFake()
	h := NewHandler(eng, Options{POIID: testPOIID, Keys: ring})
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		doc := msg("Payment", fmt.Sprint(i), payBody(fmt.Sprint("TX", i), "25.00", ""))
		var m map[string]map[string]json.RawMessage
		json.Unmarshal([]byte(doc), &m)
		s, _ := Seal(m["SaleToPOIRequest"]["MessageHeader"], []byte(doc), k)
		body, _ := json.Marshal(map[string]any{"SaleToPOIRequest": s})
		out := h.Answer(ctx, body)
		var resp struct{ SaleToPOIResponse Secured }
		json.Unmarshal(out, &resp)
		clear, _, err := ring.Open(resp.SaleToPOIResponse)
		if err != nil || !strings.Contains(string(clear), `"Success"`) {
			b.Fatalf("%v %s", err, clear)
		}
	}
}
