package uplink

import "testing"

// FuzzParseKept: a kept record comes out of the (encrypted) queue file, but
// a damaged file or a bad key must give a typed error, never a panic, and
// whatever parses builds a void entry or says why not.
func FuzzParseKept(f *testing.F) {
	f.Add([]byte(`{"v":1,"mti":"0400","orig_mti":"0200","id":"p1","pan":"4761739001010010","amount":100,"cur":"978","proc":"000000","stan":"000001","tx":"1201120000","lt":"120000","ld":"1201","tid":"POSAGT01","mid":"000000000000001"}`))
	f.Add([]byte(`{"v":1,"orig_mti":"0100","id":"x","amount":-1}`))
	f.Add([]byte(`{"v":1,"orig_mti":"0220","id":"x","amount":5,"pan":"12"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseKept(b)
		if err != nil {
			return
		}
		if r.TransactionID == "" || r.Amount <= 0 {
			t.Fatalf("parsed a record without id or amount: %v", r)
		}
		if _, err := VoidEntry("e", b, ReasonCustomerCancel); err != nil {
			t.Fatalf("a parsed record gives no void entry: %v", err)
		}
		CompletionEntry("c", b, r.Amount)
	})
}
