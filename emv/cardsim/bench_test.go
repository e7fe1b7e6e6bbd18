package cardsim

import (
	"context"
	"testing"

	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// Benchmarks of the card side. The peer of BenchmarkVisaGPO is
// BenchmarkFDDASign, the RSA private operation alone: their ratio is the
// card's overhead on top of the unavoidable signature.

// gpoBench prepares a card with its application selected and returns the
// GPO command for an amount and TTQ.
func gpoBench(b *testing.B, preset string, ttq []byte) (*Card, []byte) {
	c := newCard(b, preset)
	m := newTerminal(b, c, 1000, ttq)
	m.selectApp()
	pdol, err := tlv.ParseDOL(m.icc[0x9F38])
	if err != nil {
		b.Fatal(err)
	}
	cmd, err := reader.GetProcessingOptions(tlv.Encode(0x83, pdol.Build(m.get))).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return c, cmd
}

// again makes the selected card ready for another GPO, as a new SELECT
// would, and keeps the ATC away from its end.
func (c *Card) again() {
	c.mu.Lock()
	c.clearTxn()
	if c.atc > 0xF000 {
		c.atc = 0
	}
	c.mu.Unlock()
}

func benchGPO(b *testing.B, preset string, ttq []byte, wantSDAD bool) {
	c, cmd := gpoBench(b, preset, ttq)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.again()
		resp, err := c.Transmit(ctx, cmd)
		if err != nil || len(resp) < 2 || resp[len(resp)-2] != 0x90 {
			b.Fatalf("GPO: % X %v", resp, err)
		}
	}
	c.again()
	resp, _ := c.Transmit(ctx, cmd)
	objs, err := tlv.Parse(resp[:len(resp)-2])
	if err != nil {
		b.Fatal(err)
	}
	if _, ok := tlv.Find(objs, 0x9F4B); ok != wantSDAD {
		b.Fatalf("SDAD present %v, want %v", ok, wantSDAD)
	}
}

// BenchmarkVisaGPO: one qVSDC GET PROCESSING OPTIONS approved offline,
// with the fDDA signature (1024-bit RSA, CRT) and the cryptogram.
func BenchmarkVisaGPO(b *testing.B) { benchGPO(b, "visa", ttqOffline, true) }

// BenchmarkVisaGPOOnline: the same GPO going online (ARQC, no fDDA): the
// card's cost without RSA.
func BenchmarkVisaGPOOnline(b *testing.B) { benchGPO(b, "visa", ttqOnline, false) }

// BenchmarkFDDASign is the peer of BenchmarkVisaGPO: the fDDA signature
// alone (perso.ICC.SignDynamic on the same key and data).
func BenchmarkFDDASign(b *testing.B) {
	c := newCard(b, "visa")
	data := oda.FDDAData([]byte{1, 2, 3, 4}, tlv.EncodeN(1000, 6), tlv.EncodeN(978, 2), []byte{1, 2, 3, 4, 5, 0x20, 0})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.im.icc.SignDynamic([]byte{0, 1}, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVisaCardSide is the card's whole share of a qVSDC transaction:
// PPSE, SELECT, GPO (fDDA) and the three records.
func BenchmarkVisaCardSide(b *testing.B) {
	c, gpo := gpoBench(b, "visa", ttqOffline)
	ctx := context.Background()
	var cmds [][]byte
	for _, cmd := range []reader.Command{reader.Select(ppseName), reader.Select(c.p.AID)} {
		raw, _ := cmd.Bytes()
		cmds = append(cmds, raw)
	}
	cmds = append(cmds, gpo)
	for _, r := range [][2]byte{{1, 1}, {2, 1}, {2, 2}} {
		raw, _ := reader.ReadRecord(r[0], r[1]).Bytes()
		cmds = append(cmds, raw)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.again()
		for _, cmd := range cmds {
			resp, err := c.Transmit(ctx, cmd)
			if err != nil || resp[len(resp)-2] != 0x90 {
				b.Fatalf("% X: % X %v", cmd, resp, err)
			}
		}
	}
}

// BenchmarkMastercardGenerateACCDA: one GENERATE AC with CDA (TC).
func BenchmarkMastercardGenerateACCDA(b *testing.B) {
	c := newCard(b, "mastercard")
	m := newTerminal(b, c, 1000, nil)
	m.selectApp()
	m.gpo()
	m.readRecords()
	dol, _ := tlv.ParseDOL(m.icc[0x8C])
	cmd, _ := reader.GenerateAC(0x50, dol.Build(m.get)).Bytes()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.genAC, c.cdolData = 0, nil
		c.mu.Unlock()
		resp, err := c.Transmit(ctx, cmd)
		if err != nil || resp[len(resp)-2] != 0x90 {
			b.Fatalf("% X %v", resp, err)
		}
	}
}

// BenchmarkNew personalises a card whose certificates are cached (the
// common case: many cards of one preset); BenchmarkNewUncached signs them
// (two RSA private operations with the 1408-bit CA and issuer keys).
func BenchmarkNew(b *testing.B) {
	p, _ := Preset("visa")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewUncached(b *testing.B) {
	p, _ := Preset("visa")
	b.ReportAllocs()
	for b.Loop() {
		certCache.Clear()
		if _, err := New(p); err != nil {
			b.Fatal(err)
		}
	}
}
