package nexo_test

import (
	"encoding/json"
	"fmt"

	"posagent/agent/nexo"
)

// A POS and posagent share a passphrase; each side derives the same key and
// opens what the other sealed.
func ExampleSeal() {
	key, err := nexo.DeriveKey("posagent", 1, "shared passphrase")
	if err != nil {
		panic(err)
	}
	header := json.RawMessage(`{"MessageClass":"Service","MessageCategory":"Diagnosis","MessageType":"Request","ServiceID":"1","SaleID":"POS-1","POIID":"posagent-T1"}`)
	clear := []byte(`{"SaleToPOIRequest":{"MessageHeader":` + string(header) + `,"DiagnosisRequest":{}}}`)
	secured, err := nexo.Seal(header, clear, key)
	if err != nil {
		panic(err)
	}
	ring, _ := nexo.NewKeyring(key)
	opened, used, err := ring.Open(secured)
	fmt.Println(err, used, string(opened) == string(clear))

	secured.SecurityTrailer.KeyVersion = 2
	_, _, err = ring.Open(secured)
	fmt.Println(err)
	// Output:
	// <nil> nexo key posagent v1 true
	// nexo: unknown key: no key "posagent" version 2
}

// DecodeRequest reads a clear message; its errors name the field.
func ExampleDecodeRequest() {
	req, err := nexo.DecodeRequest([]byte(`{"SaleToPOIRequest":{"MessageHeader":{"MessageClass":"Service","MessageCategory":"Payment","MessageType":"Request","ServiceID":"7","SaleID":"POS-1","POIID":"posagent-T1"},
		"PaymentRequest":{"SaleData":{"SaleTransactionID":{"TransactionID":"TX7","TimeStamp":"2026-12-01T12:00:00Z"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":10.99}}}}}`))
	fmt.Println(err, req.Header.MessageCategory, req.Payment.PaymentTransaction.AmountsReq.RequestedAmount, nexo.PaymentID(req.Header.SaleID, req.Header.ServiceID))

	_, err = nexo.DecodeRequest([]byte(`{"SaleToPOIRequest":{"MessageHeader":{"MessageClass":"Service","MessageCategory":"Payment","MessageType":"Request","ServiceID":"7","SaleID":"POS-1","POIID":"posagent-T1"},"PaymentRequest":{}}}`))
	fmt.Println(err)
	// Output:
	// <nil> Payment 10.99 nexo-20780424-7
	// nexo: bad message body: PaymentRequest.SaleData.SaleTransactionID.TransactionID: missing
}
