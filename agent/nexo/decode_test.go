package nexo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const hdrPayment = `"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"Payment","MessageType":"Request","ServiceID":"S1","SaleID":"POS-1","POIID":"posagent-T1"}`

const goodPayment = `{"SaleToPOIRequest":{` + hdrPayment + `,"PaymentRequest":{"SaleData":{"SaleTransactionID":{"TransactionID":"TX1","TimeStamp":"2026-12-01T12:00:00.000Z"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":10.99}}}}}`

func header(category, extra string) string {
	return `"MessageHeader":{"MessageClass":"Service","MessageCategory":"` + category + `","MessageType":"Request","ServiceID":"S1","SaleID":"POS-1","POIID":"P"` + extra + `}`
}

func TestDecodeRequest(t *testing.T) {
	req, err := DecodeRequest([]byte(goodPayment))
	if err != nil {
		t.Fatal(err)
	}
	if req.Header.ServiceID != "S1" || req.Payment == nil || req.Payment.SaleData.SaleTransactionID.TransactionID != "TX1" ||
		req.Payment.PaymentTransaction.AmountsReq.RequestedAmount != "10.99" {
		t.Fatalf("decoded %+v", req)
	}
	for _, c := range []struct{ category, body string }{
		{"TransactionStatus", `"TransactionStatusRequest":{"MessageReference":{"ServiceID":"S0","SaleID":"POS-1"}}`},
		{"TransactionStatus", `"TransactionStatusRequest":{}`},
		{"Abort", `"AbortRequest":{"AbortReason":"MerchantAbort","MessageReference":{"MessageCategory":"Payment","ServiceID":"S0"}}`},
		{"Reversal", `"ReversalRequest":{"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"x","TimeStamp":"t"}},"ReversalReason":"MerchantCancel"}`},
		{"Diagnosis", `"DiagnosisRequest":{"HostDiagnosisFlag":true}`},
		{"Login", `"LoginRequest":{"DateTime":"2026-12-01T12:00:00Z","OperatorLanguage":"en","SaleSoftware":{"ApplicationName":"x"}}`},
		{"Logout", `"LogoutRequest":{}`},
		{"Print", `"PrintRequest":{"anything":1}`},
	} {
		doc := `{"SaleToPOIRequest":{` + header(c.category, "") + `,` + c.body + `}}`
		if _, err := DecodeRequest([]byte(doc)); err != nil {
			t.Errorf("%s: %v", c.category, err)
		}
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	pay := func(body string) string {
		return `{"SaleToPOIRequest":{` + header("Payment", "") + `,"PaymentRequest":` + body + `}}`
	}
	okTx := `"SaleData":{"SaleTransactionID":{"TransactionID":"TX1","TimeStamp":"t"}}`
	cases := []struct {
		name, doc string
		want      error
		field     string
	}{
		{"empty", ``, ErrSyntax, ""},
		{"not json", `{"SaleToPOIRequest":`, ErrSyntax, ""},
		{"array", `[1,2]`, ErrSyntax, ""},
		{"not utf8", "{\"SaleToPOIRequest\":{\"a\":\"\xff\"}}", ErrSyntax, ""},
		{"other root", `{"SaleToPOIResponse":{}}`, ErrSyntax, "SaleToPOIRequest"},
		{"two roots", `{"SaleToPOIRequest":{},"x":1}`, ErrSyntax, "SaleToPOIRequest"},
		{"root null", `{"SaleToPOIRequest":null}`, ErrSyntax, "SaleToPOIRequest"},
		{"root string", `{"SaleToPOIRequest":"x"}`, ErrSyntax, "SaleToPOIRequest"},
		{"too long", `{"SaleToPOIRequest":{"x":"` + strings.Repeat("a", MaxMessage) + `"}}`, ErrSyntax, ""},
		{"no header", `{"SaleToPOIRequest":{"PaymentRequest":{}}}`, ErrHeader, "MessageHeader"},
		{"header array", `{"SaleToPOIRequest":{"MessageHeader":[]}}`, ErrHeader, "MessageHeader"},
		{"protocol 2", `{"SaleToPOIRequest":{` + header("Payment", `,"ProtocolVersion":"2.0"`) + `}}`, ErrHeader, "ProtocolVersion"},
		{"class event", `{"SaleToPOIRequest":{"MessageHeader":{"MessageClass":"Event","MessageCategory":"Payment","MessageType":"Request","ServiceID":"S","SaleID":"s","POIID":"p"}}}`, ErrHeader, "MessageClass"},
		{"type response", `{"SaleToPOIRequest":{"MessageHeader":{"MessageClass":"Service","MessageCategory":"Payment","MessageType":"Response","ServiceID":"S","SaleID":"s","POIID":"p"}}}`, ErrHeader, "MessageType"},
		{"category odd", `{"SaleToPOIRequest":{` + strings.Replace(header("Payment", ""), "Payment", "Pay ment", 1) + `}}`, ErrHeader, "MessageCategory"},
		{"service id long", `{"SaleToPOIRequest":{` + strings.Replace(header("Payment", ""), `"S1"`, `"12345678901"`, 1) + `}}`, ErrHeader, "ServiceID"},
		{"service id missing", `{"SaleToPOIRequest":{` + strings.Replace(header("Payment", ""), `"S1"`, `""`, 1) + `}}`, ErrHeader, "ServiceID"},
		{"sale id control", `{"SaleToPOIRequest":{` + strings.Replace(header("Payment", ""), `"POS-1"`, `"POS\n1"`, 1) + `}}`, ErrHeader, "SaleID"},
		{"poiid missing", `{"SaleToPOIRequest":{` + strings.Replace(header("Payment", ""), `"P"`, `""`, 1) + `}}`, ErrHeader, "POIID"},
		{"no body", `{"SaleToPOIRequest":{` + header("Payment", "") + `}}`, ErrBody, "PaymentRequest"},
		{"wrong body", `{"SaleToPOIRequest":{` + header("Payment", "") + `,"ReversalRequest":{}}}`, ErrBody, "PaymentRequest"},
		{"two bodies", `{"SaleToPOIRequest":{` + header("Payment", "") + `,"PaymentRequest":{},"ReversalRequest":{}}}`, ErrBody, "PaymentRequest"},
		{"body wrong type", pay(`[]`), ErrBody, "PaymentRequest"},
		{"amount not a number", pay(`{` + okTx + `,"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":"ten"}}}`), ErrBody, "PaymentRequest"},
		{"no transaction id", pay(`{"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":1}}}`), ErrBody, "PaymentRequest.SaleData.SaleTransactionID.TransactionID"},
		{"currency long", pay(`{` + okTx + `,"PaymentTransaction":{"AmountsReq":{"Currency":"EURO","RequestedAmount":1}}}`), ErrBody, "PaymentRequest.PaymentTransaction.AmountsReq.Currency"},
		{"no amount", pay(`{` + okTx + `,"PaymentTransaction":{"AmountsReq":{"Currency":"EUR"}}}`), ErrBody, "PaymentRequest.PaymentTransaction.AmountsReq.RequestedAmount"},
		{"payment type", pay(`{` + okTx + `,"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":1}},"PaymentData":{"PaymentType":"CashAdvance"}}`), ErrNotSupported, "PaymentRequest.PaymentData.PaymentType"},
		{"abort without service", `{"SaleToPOIRequest":{` + header("Abort", "") + `,"AbortRequest":{"AbortReason":"x","MessageReference":{}}}}`, ErrBody, "AbortRequest.MessageReference.ServiceID"},
		{"reversal reason", `{"SaleToPOIRequest":{` + header("Reversal", "") + `,"ReversalRequest":{"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"x","TimeStamp":"t"}},"ReversalReason":"Because"}}}`, ErrBody, "ReversalRequest.ReversalReason"},
		{"reversal no original id", `{"SaleToPOIRequest":{` + header("Reversal", "") + `,"ReversalRequest":{"OriginalPOITransaction":{},"ReversalReason":"MerchantCancel"}}}`, ErrBody, "ReversalRequest.OriginalPOITransaction.POITransactionID"},
		{"status ref long", `{"SaleToPOIRequest":{` + header("TransactionStatus", "") + `,"TransactionStatusRequest":{"MessageReference":{"ServiceID":"` + strings.Repeat("9", 11) + `"}}}}`, ErrBody, "TransactionStatusRequest.MessageReference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(c.doc))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Field != c.field {
				t.Fatalf("err = %#v, want field %q", err, c.field)
			}
		})
	}
}

func TestSplitEnvelope(t *testing.T) {
	env, err := SplitEnvelope([]byte(goodPayment))
	if err != nil || env.Secured != nil || env.Header == nil || env.Header.SaleID != "POS-1" {
		t.Fatalf("clear: %+v %v", env, err)
	}
	env, err = SplitEnvelope([]byte(`{"SaleToPOIRequest":{` + hdrPayment + `,"NexoBlob":"AAAA","SecurityTrailer":{"KeyIdentifier":"K","KeyVersion":1,"AdyenCryptoVersion":1,"Nonce":"","Hmac":""}}}`))
	if err != nil || env.Secured == nil || env.Secured.SecurityTrailer.KeyIdentifier != "K" || env.Header.ServiceID != "S1" {
		t.Fatalf("secured: %+v %v", env, err)
	}
	for name, doc := range map[string]string{
		"blob number":   `{"SaleToPOIRequest":{"NexoBlob":1}}`,
		"trailer array": `{"SaleToPOIRequest":{"NexoBlob":"x","SecurityTrailer":[]}}`,
		"version text":  `{"SaleToPOIRequest":{"NexoBlob":"x","SecurityTrailer":{"KeyVersion":"1"}}}`,
	} {
		if _, err := SplitEnvelope([]byte(doc)); !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAmounts(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"10.99", "EUR", 1099, true}, {"10", "EUR", 1000, true}, {"10.5", "EUR", 1050, true}, {"10.990", "EUR", 1099, true},
		{"0.01", "EUR", 1, true}, {"1500", "JPY", 1500, true}, {"1.234", "KWD", 1234, true}, {"10.5", "eur", 1050, true},
		{"10.999", "EUR", 0, false}, {"1.5", "JPY", 0, false}, {"-1", "EUR", 0, false}, {"1e3", "EUR", 0, false},
		{"99999999999999", "EUR", 0, false}, {"10", "XYZ", 0, false}, {"10", "EU", 0, false}, {".5", "EUR", 0, false},
	} {
		got, err := toMinor(json.Number(c.in), c.cur)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("toMinor(%s %s) = %d, %v; want %d ok=%v", c.in, c.cur, got, err, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{{1099, "EUR", "10.99"}, {5, "EUR", "0.05"}, {0, "EUR", "0.00"}, {1500, "JPY", "1500"}, {1234, "KWD", "1.234"}} {
		if got := toMajor(c.minor, c.cur); string(got) != c.want {
			t.Errorf("toMajor(%d %s) = %s, want %s", c.minor, c.cur, got, c.want)
		}
	}
}

// Crashers and odd inputs the fuzzers found or that are worth keeping.
var decodeCrashers = map[string]string{
	"deep nesting":        `{"SaleToPOIRequest":{"MessageHeader":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`,
	"header null":         `{"SaleToPOIRequest":{"MessageHeader":null,"PaymentRequest":null}}`,
	"body null":           `{"SaleToPOIRequest":{` + header("Payment", "") + `,"PaymentRequest":null}}`,
	"huge number":         `{"SaleToPOIRequest":{` + header("Payment", "") + `,"PaymentRequest":{"SaleData":{"SaleTransactionID":{"TransactionID":"t"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":1e999999}}}}}`,
	"blob with no header": `{"SaleToPOIRequest":{"NexoBlob":"AAAAAAAAAAAAAAAAAAAAAA==","SecurityTrailer":{"AdyenCryptoVersion":1,"KeyIdentifier":"K","KeyVersion":1,"Nonce":"AAAAAAAAAAAAAAAAAAAAAA==","Hmac":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}`,
}

func TestDecodeCrashers(t *testing.T) {
	ring, _ := NewKeyring(testKey(t, "K", 1, "secret"))
	for name, doc := range decodeCrashers {
		t.Run(name, func(t *testing.T) { decodeAll(ring, []byte(doc)) })
	}
}

// decodeAll runs every decoder on b and checks the invariants the fuzzers
// check: no panic, a decoded request is within bounds.
func decodeAll(ring *Keyring, b []byte) {
	env, err := SplitEnvelope(b)
	if err != nil {
		return
	}
	clear := []byte(env.Clear)
	if env.Secured != nil {
		if clear, _, err = ring.Open(*env.Secured); err != nil {
			return
		}
	}
	req, err := DecodeRequest(clear)
	if err != nil {
		return
	}
	if len(req.Header.ServiceID) > 4*MaxServiceID || req.Header.POIID == "" {
		panic("decoded header out of bounds")
	}
	if req.Payment != nil {
		a := req.Payment.PaymentTransaction.AmountsReq
		if v, err := toMinor(a.RequestedAmount, a.Currency); err == nil && (v < 0 || v > 999999999999) {
			panic("amount out of range")
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(goodPayment))
	for _, d := range decodeCrashers {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err == nil && req.Header.MessageCategory == "" {
			t.Fatal("decoded a request without a category")
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("untyped error %T %v", err, err)
		}
	})
}

func FuzzEnvelope(f *testing.F) {
	k := testKey(f, "K", 1, "secret")
	ring, _ := NewKeyring(k)
	s, _ := Seal(json.RawMessage(`{}`), []byte(goodPayment), k)
	sealed, _ := json.Marshal(map[string]any{"SaleToPOIRequest": s})
	f.Add(sealed)
	f.Add([]byte(goodPayment))
	for _, d := range decodeCrashers {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := SplitEnvelope(b)
		if err != nil || env.Secured == nil {
			decodeAll(ring, b)
			return
		}
		_, _, err = ring.Open(*env.Secured)
		var ee *EnvelopeError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("untyped error %T %v", err, err)
		}
		decodeAll(ring, b)
	})
}
