package uplink

// QR payments on the uplink (docs/qr.md). A consumer-presented code (the
// customer's wallet or EMVCo CPM) travels in field 62 with entry mode
// EntryQR. A merchant-presented code is paid by the customer's wallet
// through its provider; the terminal asks for the outcome with a request
// carrying the payload it shows in field 62 and entry mode EntryQRMerchant,
// and is answered RCPending until the wallet has paid.
const (
	EntryQRMerchant = "032" // merchant-presented QR: status of a code the terminal shows
	RCPending       = "09"  // request in progress: the wallet has not paid yet, ask again
	RCInvalidCode   = "14"  // invalid card number: a QR payment code that is not valid
)
