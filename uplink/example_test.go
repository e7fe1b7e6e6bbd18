package uplink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"posagent/emv/pan"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// Encode a message, decode it back, and describe it with the card data
// masked.
func ExampleCodec() {
	codec, _ := uplink.NewCodec(nil) // uplink.DefaultSpec()
	p, _ := pan.Parse("4761739001010010")
	raw, err := codec.Encode(&uplink.Message{
		MTI: uplink.MTIFinancialRequest, PAN: p, ProcessingCode: "000000", Amount: 1250, HasAmount: true,
		STAN: "000042", TerminalID: "T0000001", Currency: "978", TransactionID: "order-17",
	})
	if err != nil {
		panic(err)
	}
	m, err := codec.Decode(raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(m)
	frame, _ := uplink.HeaderBinary2.AppendFrame(nil, raw)
	fmt.Printf("% X\n", frame[:2])
	uplink.Describe(os.Stdout, nil, raw)
	// Output:
	// 0200 stan=000042 tid=T0000001 txn=order-17 pan=476173******0010 amount=1250 cur=978
	// 00 4B
	// posagent ISO 8583:1987 v1 Message:
	// MTI..........: 0200
	// Bitmap HEX...: 7020000000808020
	// Bitmap bits..:
	//     [1-8]01110000    [9-16]00100000   [17-24]00000000   [25-32]00000000
	//   [33-40]00000000   [41-48]10000000   [49-56]10000000   [57-64]00100000
	// F0   Message Type Indicator.................: 0200
	// F2   Primary Account Number.................: 476173******0010
	// F3   Processing Code........................: 000000
	// F4   Transaction Amount.....................: 1250
	// F11  Systems Trace Audit Number.............: 000042
	// F41  Card Acceptor Terminal Identification..: T0000001
	// F49  Currency Code, Transaction.............: 978
	// F59  Transaction Identifier (private).......: order-17
}

// A terminal's uplink against the acquirer simulator on loopback: mutual
// TLS, the reversal armed in the offline store, one purchase.
func ExampleClient_Purchase() {
	dir, _ := os.MkdirTemp("", "uplink-example-")
	defer os.RemoveAll(dir)
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		panic(err)
	}
	// The host.
	journal, _ := acqsim.OpenJournal(filepath.Join(dir, "journal.jsonl"))
	defer journal.Close()
	stls, _ := acqsim.ServerTLS(tlsDir)
	srv, _ := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: journal})
	addr, _ := srv.Listen("127.0.0.1:0")
	defer srv.Close()

	// The terminal.
	store, err := offline.Open(filepath.Join(dir, "queue.db"), offline.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	stan, _ := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	ctls, _ := acqsim.ClientTLSFiles(tlsDir).Load()
	c, err := uplink.New(uplink.Config{Addr: addr.String(), TLS: ctls, TerminalID: "T0000001",
		MerchantID: "MERCHANT0000001", Queue: store, STAN: stan})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	p, _ := pan.Parse("4761739001010010")
	icc, _ := acqsim.ICCData(acqsim.CardData{Scheme: "visa", PAN: p.Digits(), PSN: 1, ATC: 1,
		Amount: 1250, Currency: "978", UN: 42})
	res, err := c.Purchase(context.Background(), uplink.Transaction{ID: "order-17", PAN: p, PSN: "001",
		Amount: 1250, Currency: "978", EntryMode: uplink.EntryContactless, ICC: icc})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.MTI, res.ResponseCode, res.Approved())
	// Output: 0210 00 true
}
