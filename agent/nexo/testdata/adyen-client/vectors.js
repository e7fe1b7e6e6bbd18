// Writes envelope vectors made by Adyen's own NexoCrypto and key derivation
// (the Go tests keep them as golden files: go test ./agent/nexo -run Golden -update).
"use strict";
const NexoCrypto = require("@adyen/api-library/lib/src/security/nexoCrypto").default;
const KDF = require("@adyen/api-library/lib/src/security/nexoDerivedKeyGenerator").default;

const cases = [
  { name: "payment", passphrase: "posagent-test-passphrase", id: "posagent", version: 1 },
  { name: "latin1-passphrase", passphrase: "pässwörd-ñ-€", id: "K2", version: 3 },
  { name: "empty-body", passphrase: "p", id: "K", version: 0 },
];
const header = {
  ProtocolVersion: "3.0", MessageClass: "Service", MessageCategory: "Payment",
  MessageType: "Request", ServiceID: "1234567890", SaleID: "POS-1", POIID: "posagent-TERM0001",
};
const out = [];
for (const c of cases) {
  const clear = c.name === "empty-body"
    ? JSON.stringify({ SaleToPOIRequest: { MessageHeader: header } })
    : JSON.stringify({ SaleToPOIRequest: { MessageHeader: header, PaymentRequest: {
        SaleData: { SaleTransactionID: { TransactionID: "TX-" + c.name, TimeStamp: "2026-12-01T12:00:00.000Z" } },
        PaymentTransaction: { AmountsReq: { Currency: "EUR", RequestedAmount: 10.99 } } } } });
  const key = { Passphrase: c.passphrase, KeyIdentifier: c.id, KeyVersion: c.version, AdyenCryptoVersion: 1 };
  const dk = KDF.deriveKeyMaterial(c.passphrase);
  out.push({
    name: c.name, passphrase: c.passphrase, keyIdentifier: c.id, keyVersion: c.version,
    hmacKey: dk.hmacKey.toString("hex"), cipherKey: dk.cipherKey.toString("hex"), iv: dk.iv.toString("hex"),
    clear, secured: { SaleToPOIRequest: NexoCrypto.encrypt(header, clear, key) },
  });
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
