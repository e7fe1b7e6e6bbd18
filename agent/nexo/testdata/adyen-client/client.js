// Terminal API requests sent by Adyen's own Node.js library, the way an
// Adyen-integrated POS sends them. Driven by agent/nexo's Go tests: one
// request per stdin line (they run concurrently), one answer per stdout line
// with the same "seq":
//
//   {"seq":1,"endpoint":"https://127.0.0.1","encrypted":true,"ca":"ca.pem",
//    "key":{"id":"posagent","version":1,"passphrase":"..."},
//    "poiid":"posagent-T1","saleId":"POS-1","serviceId":"S1",
//    "category":"Payment","body":{...}}
//
// -> {"seq":1,"ok":true,"ms":12.3,"response":<TerminalApiResponse>} or
//    {"seq":1,"ok":false,"error":"..."}.
// The library appends ":8443/nexo/" to the endpoint itself.
"use strict";
const { Client, Config, TerminalLocalAPI } = require("@adyen/api-library");
const TerminalLocalAPIUnencrypted = require("@adyen/api-library/lib/src/services/terminalLocalAPIUnencrypted").default;

async function send(a) {
  const config = new Config({
    environment: "TEST",
    apiKey: a.apiKey || "AQE-test-api-key",
    terminalApiLocalEndpoint: a.endpoint,
    connectionTimeoutMillis: a.timeoutMs || 60000,
  });
  if (a.encrypted) config.certificatePath = a.ca;
  const client = new Client(config);
  const api = a.encrypted ? new TerminalLocalAPI(client) : new TerminalLocalAPIUnencrypted(client);
  const body = a.category === "CardReaderApdu" ? "CardReaderAPDURequest" : a.category + "Request";
  const request = {
    SaleToPOIRequest: {
      MessageHeader: {
        ProtocolVersion: "3.0",
        MessageClass: a.messageClass || "Service",
        MessageCategory: a.category,
        MessageType: "Request",
        ServiceID: a.serviceId,
        SaleID: a.saleId,
        POIID: a.poiid,
      },
      [body]: a.body,
    },
  };
  const key = a.key && { KeyIdentifier: a.key.id, KeyVersion: a.key.version, Passphrase: a.key.passphrase, AdyenCryptoVersion: 1 };
  const started = process.hrtime.bigint();
  const response = a.encrypted ? await api.request(request, key) : await api.request(request);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { seq: a.seq, ok: true, ms, response };
}

const rl = require("readline").createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let a;
  try { a = JSON.parse(line); } catch (e) { return; }
  send(a).catch((e) => ({ seq: a.seq, ok: false, error: String((e && e.message) || e) }))
    .then((out) => process.stdout.write(JSON.stringify(out) + "\n"));
});
