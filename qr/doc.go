// Package qr decodes and encodes the payment QR formats a terminal meets:
// EMVCo Merchant-Presented Mode (MPM, the code the customer scans: Pix,
// PromptPay, VietQR, SGQR, DuitNow, QRIS, ...), EMVCo Consumer-Presented
// Mode (CPM, base64 BER-TLV shown by the customer's wallet), and the
// numeric wallet payment codes of WeChat Pay, Alipay and UnionPay. Classify
// says which of them a scanned text is; Inspect gives the whole report
// (validity, errors, rule warnings, fields) that "posagent qr parse" prints.
//
// Every text handed to this package is hostile: decoders bound every length
// before slicing, return typed errors (*MPMError, *CPMError) that unwrap to
// the Err* sentinels, and never panic. MPM decoding has two levels:
// structural validity (lengths, nesting, duplicates, CRC) decides whether a
// payload is usable at all, while the EMVCo data rules (mandatory objects,
// formats, tip rules) are reported as warnings by Check, since real national
// codes bend them. Card data in CPM payloads (PAN, track 2, names) is held
// in the emv/pan types and masked in every rendering. The package does not
// log.
package qr
