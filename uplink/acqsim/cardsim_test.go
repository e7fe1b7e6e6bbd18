package acqsim

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"

	"posagent/emv/cardsim"
	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/uplink"
)

// TestSoftwareCardARQCVerifiedByHost takes the ARQC of a software card
// (emv/cardsim, an independent implementation of the card side) through
// the uplink to acqsim, which must verify it and answer with an ARPC.
func TestSoftwareCardARQCVerifiedByHost(t *testing.T) {
	for _, preset := range []string{"visa-online-only", "unionpay"} {
		t.Run(preset, func(t *testing.T) {
			p, err := cardsim.Preset(preset)
			if err != nil {
				t.Skipf("preset: %v", err)
			}
			p.OfflineLimit = 0 // always online
			card, err := cardsim.New(p)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			tx := func(h string) []byte {
				t.Helper()
				cmd, _ := hex.DecodeString(h)
				r, err := card.Transmit(ctx, cmd)
				if err != nil || len(r) < 2 || r[len(r)-2] != 0x90 {
					t.Fatalf("APDU %s: % X %v", h, r, err)
				}
				return r[:len(r)-2]
			}
			aid := hex.EncodeToString(p.AID)
			fci, err := tlv.Parse(tx("00A40400" + hex.EncodeToString([]byte{byte(len(p.AID))}) + aid + "00"))
			if err != nil {
				t.Fatal(err)
			}
			pdol, err := tlv.ParseDOL(tlv.Value(fci, 0x9F38))
			if err != nil {
				t.Fatal(err)
			}
			// Terminal data: 25.00 EUR on 2026-11-25, online cryptogram required.
			term := map[tlv.Tag][]byte{
				0x9F66: {0x20, 0x80, 0x00, 0x00}, 0x9F02: {0, 0, 0, 0, 0x25, 0x00}, 0x9F03: make([]byte, 6),
				0x9F1A: {0x02, 0x50}, 0x95: make([]byte, 5), 0x5F2A: {0x09, 0x78}, 0x9A: {0x26, 0x11, 0x25},
				0x9C: {0x00}, 0x9F37: {0xCA, 0xFE, 0xBA, 0xBE},
			}
			var data []byte
			for _, e := range pdol {
				v := term[e.Tag]
				if len(v) != e.Len {
					v = make([]byte, e.Len)
				}
				data = append(data, v...)
			}
			gpoData := tlv.Append(nil, 0x83, data)
			gpo := "80A80000" + hex.EncodeToString([]byte{byte(len(gpoData))}) + hex.EncodeToString(gpoData) + "00"
			resp, err := tlv.Parse(tx(gpo))
			if err != nil {
				t.Fatal(err)
			}
			if cid := tlv.Value(resp, 0x9F27); len(cid) != 1 || cid[0]&0xC0 != 0x80 {
				t.Fatalf("card did not return an ARQC (9F27 % X)", cid)
			}
			t2, err := pan.ParseTrack2(tlv.Value(resp, 0x57))
			if err != nil {
				t.Fatal(err)
			}
			var icc []byte
			for _, tag := range []tlv.Tag{0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37} {
				icc = tlv.Append(icc, tag, term[tag])
			}
			for _, tag := range []tlv.Tag{0x82, 0x9F36, 0x9F10, 0x9F26, 0x9F27, 0x5F34} {
				if v := tlv.Value(resp, tag); v != nil {
					icc = tlv.Append(icc, tag, v)
				}
			}
			icc = tlv.Append(icc, 0x84, p.AID)

			dir := t.TempDir()
			if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
				t.Fatal(err)
			}
			srv, addr := startServer(t, dir)
			tcfg, err := ClientTLSFiles(filepath.Join(dir, "tls")).Load()
			if err != nil {
				t.Fatal(err)
			}
			stan, err := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
			if err != nil {
				t.Fatal(err)
			}
			c, err := uplink.New(uplink.Config{Addr: addr, TLS: tcfg, TerminalID: "T0000001",
				MerchantID: "MERCHANT0000001", Queue: NewMemQueue(), STAN: stan})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			psn := "000"
			if v := tlv.Value(resp, 0x5F34); len(v) == 1 {
				psn = "0" + hex.EncodeToString(v)
			}
			res, err := c.Purchase(ctx, uplink.Transaction{ID: "cardsim-" + preset, PAN: t2.PAN, Track2: &t2,
				PSN: psn, Amount: 2500, Currency: "978", EntryMode: uplink.EntryContactless, ICC: icc})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Approved() {
				t.Fatalf("host answered %s (82 = ARQC not verified)", res.ResponseCode)
			}
			if list, _ := tlv.Parse(res.ICC); len(tlv.Value(list, 0x91)) != 10 {
				t.Fatal("no ARPC in the response")
			}
			if srv.Stats.ARQCFailed.Load() != 0 {
				t.Fatal("ARQC failure counted")
			}
		})
	}
}
