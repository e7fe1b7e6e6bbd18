package cardsim

import (
	"bytes"
	"slices"

	"posagent/emv/arqc"
	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// Cryptogram information data (9F27) values.
const (
	cidAAC  byte = 0x00
	cidTC   byte = 0x40
	cidARQC byte = 0x80
)

// inputLen is the length of each terminal element of the cryptogram input;
// an element the terminal did not send is taken as zeros of that length.
var inputLen = map[uint32]int{0x9F02: 6, 0x9F03: 6, 0x9F1A: 2, 0x95: 5, 0x5F2A: 2, 0x9A: 3, 0x9C: 1, 0x9F37: 4}

// amount is the transaction amount (9F02); ok is false when absent or not
// BCD, which the card treats as above every limit.
func (c *Card) amount() (int64, bool) {
	v, ok := tlv.DecodeN(c.term[0x9F02])
	if !ok || len(c.term[0x9F02]) == 0 || v > 1<<62 {
		return 0, false
	}
	return int64(v), true
}

// withinOffline reports whether the transaction may be approved offline by
// the card's own limits: amount at most the offline limit, in the card's
// currency.
func (c *Card) withinOffline() bool {
	amt, ok := c.amount()
	return ok && c.p.OfflineLimit > 0 && amt <= c.p.OfflineLimit &&
		bytes.Equal(c.term[0x5F2A], tlv.EncodeN(uint64(c.p.Currency), 2))
}

// expired reports whether the transaction date (9A) is after the card's
// expiry date or before its effective date. No date: not expired.
func (c *Card) expired() bool {
	d := c.term[0x9A]
	if len(d) != 3 {
		return false
	}
	if _, ok := tlv.DecodeN(d); !ok {
		return false
	}
	return bytes.Compare(d, c.im.expiry) > 0 || bytes.Compare(d, bcdDigits(c.p.Effective)) < 0
}

func (c *Card) atcBytes() [2]byte { return [2]byte{byte(c.atc >> 8), byte(c.atc)} }

// cryptogram computes the application cryptogram over the terminal data
// received and the card's AIP, ATC and IAD (arqc.Input order), with the
// session key of the current ATC.
func (c *Card) cryptogram(iad []byte) [8]byte {
	atc := c.atcBytes()
	get := func(tag uint32) []byte {
		switch tag {
		case 0x82:
			return c.p.AIP[:]
		case 0x9F36:
			return atc[:]
		case 0x9F10:
			return iad
		}
		v := c.term[tlv.Tag(tag)]
		if n := inputLen[tag]; n > 0 && len(v) != n {
			return make([]byte, n)
		}
		return v
	}
	data, err := arqc.Input(get)
	if err != nil {
		// Every element is supplied above; an error here would be a bug in
		// the card, answered with a cryptogram over nothing rather than a
		// panic.
		data = nil
	}
	return arqc.Compute(arqc.SessionKey(c.im.mk, atc), data)
}

// corrupt flips the last bit of a signature for the bad-signature fault.
func (c *Card) corrupt(sig []byte) []byte {
	if c.p.Fault == FaultBadSignature && len(sig) > 0 {
		sig[len(sig)-1] ^= 0x01
	}
	return sig
}

func (c *Card) randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = c.rng.Read(b)
	return b
}

func (c *Card) getProcessingOptions(a reader.Command) ([]byte, reader.SW) {
	if a.P1 != 0 || a.P2 != 0 {
		return nil, swIncorrectP1P2
	}
	if !c.app || c.gpo {
		return nil, reader.SWConditionsNotSatisf
	}
	if len(a.Data) == 0 {
		return nil, reader.SWWrongLength
	}
	objs, err := tlv.Parse(a.Data)
	if err != nil || len(objs) != 1 || objs[0].Tag != 0x83 {
		return nil, swWrongData
	}
	pdolData := objs[0].Value
	if len(pdolData) != c.im.pdol.Len() {
		return nil, reader.SWWrongLength
	}
	term, err := c.im.pdol.Split(pdolData)
	if err != nil {
		return nil, reader.SWWrongLength
	}
	switch c.p.Fault {
	case FaultGPO6985:
		return nil, reader.SWConditionsNotSatisf
	case FaultWrongAnswer:
		return slices.Clone(c.im.fci), reader.SWOK
	}
	if c.p.Kind == KindQ {
		if ttq := term[0x9F66]; len(ttq) != 4 || ttq[0]&0x20 == 0 {
			// The reader does not support qVSDC/qPBOC: not this interface.
			return nil, reader.SWConditionsNotSatisf
		}
	}
	if c.atc == 0xFFFF {
		return nil, reader.SWConditionsNotSatisf // ATC exhausted: the card is dead
	}
	c.atc++
	c.gpo = true
	c.pdolData = append([]byte(nil), pdolData...)
	c.term = term
	if c.p.Fault == FaultRemoved && !c.pulled {
		c.removed, c.pulled = true, true
	}
	switch c.p.Kind {
	case KindQ:
		return c.qGPO(), reader.SWOK
	case KindMChip:
		var v []byte
		v = tlv.Append(v, 0x82, c.p.AIP[:])
		v = tlv.Append(v, 0x94, c.im.afl)
		return tlv.Encode(0x77, v), reader.SWOK
	default:
		return tlv.Encode(0x80, append(c.p.AIP[:], c.im.afl...)), reader.SWOK
	}
}

// qGPO is the qVSDC/qPBOC decision (VCPS-like): the card chooses the
// cryptogram and the CVM, computes the AC, and signs fDDA data for an
// offline approval (or an online one when the reader asks for ODA online).
func (c *Card) qGPO() []byte {
	ttq := c.term[0x9F66]
	var cid byte
	switch {
	case c.expired():
		cid = cidAAC
	case ttq[1]&0x80 != 0: // online cryptogram required
		cid = cidARQC
	case ttq[0]&0x08 != 0: // offline-only reader
		cid = cidAAC
		if c.withinOffline() {
			cid = cidTC
		}
	case c.withinOffline():
		cid = cidTC
	default:
		cid = cidARQC
	}
	ctq := c.p.CTQ
	if ttq[1]&0x40 != 0 && cid != cidAAC { // CVM required
		switch {
		case c.p.CDCVM && ttq[2]&0x40 != 0:
			ctq[1] |= 0x80
		case c.p.PreferOnlinePIN && ttq[0]&0x04 != 0:
			ctq[0] |= 0x80
			cid = cidARQC // online PIN is verified online
		case ttq[0]&0x02 != 0:
			ctq[0] |= 0x40
		}
	}
	// Issuer application data, Visa layout: length 06, key index 01,
	// CVN 0A, CVR (03, byte 2 = AC type of this generation, 00 00).
	iad := []byte{0x06, 0x01, 0x0A, 0x03, cid >> 2, 0x00, 0x00}
	ac := c.cryptogram(iad)
	atc := c.atcBytes()
	cad := append([]byte{0x01}, c.randBytes(4)...)
	cad = append(cad, ctq[:]...)

	var sdad []byte
	fdda := c.p.AIP[0]&0x20 != 0
	if fdda && (cid == cidTC || (cid == cidARQC && ttq[0]&0x01 != 0)) {
		data := oda.FDDAData(c.term[0x9F37], c.term[0x9F02], c.term[0x5F2A], cad)
		sig, err := c.im.icc.SignDynamic(atc[:], data)
		if err == nil {
			sdad = c.corrupt(sig)
		}
	}
	var v []byte
	v = tlv.Append(v, 0x82, c.p.AIP[:])
	v = tlv.Append(v, 0x94, c.im.afl)
	if c.p.Fault != FaultMissingPAN {
		v = tlv.Append(v, 0x57, c.im.track2)
	}
	if !c.p.NoPSN {
		v = tlv.Append(v, 0x5F34, []byte{c.p.PSN})
	}
	v = tlv.Append(v, 0x9F10, iad)
	v = tlv.Append(v, 0x9F26, ac[:])
	v = tlv.Append(v, 0x9F27, []byte{cid})
	v = tlv.Append(v, 0x9F36, atc[:])
	if sdad != nil {
		v = tlv.Append(v, 0x9F4B, sdad)
	}
	v = tlv.Append(v, 0x9F69, cad)
	v = tlv.Append(v, 0x9F6C, ctq[:])
	if c.p.Scheme == "visa" {
		ffi := byte(0x20) // version 1, standard card
		if c.p.CDCVM {
			ffi = 0x23 // version 1, consumer mobile phone
		}
		v = tlv.Append(v, 0x9F6E, []byte{ffi, 0x70, 0x00, 0x00})
	}
	if c.p.Fault == FaultBadTLV {
		// An object that claims 32 bytes where 3 remain in the template.
		v = append(v, 0x9F, 0x7C, 0x20, 0x01, 0x02, 0x03)
	}
	return tlv.Encode(0x77, v)
}

func (c *Card) internalAuthenticate(a reader.Command) ([]byte, reader.SW) {
	if c.p.Kind == KindQ || c.p.AIP[0]&0x20 == 0 {
		return nil, reader.SWInsNotSupported
	}
	if a.P1 != 0 || a.P2 != 0 {
		return nil, swIncorrectP1P2
	}
	if !c.gpo {
		return nil, reader.SWConditionsNotSatisf
	}
	if len(a.Data) == 0 || len(a.Data) != c.im.ddol.Len() {
		return nil, reader.SWWrongLength
	}
	sig, err := c.im.icc.SignDynamic(c.randBytes(8), a.Data)
	if err != nil {
		return nil, swNoDiagnosis
	}
	return tlv.Encode(0x80, c.corrupt(sig)), reader.SWOK
}

// generateAC is card risk management and the cryptogram of M/Chip and the
// generic path. The first GENERATE AC takes CDOL1 data, a second one (after
// an ARQC) CDOL2 data.
func (c *Card) generateAC(a reader.Command) ([]byte, reader.SW) {
	if c.p.Kind == KindQ {
		return nil, reader.SWInsNotSupported
	}
	req := a.P1 & 0xC0
	if a.P2 != 0 || req == 0xC0 || a.P1&0x2F != 0 {
		return nil, swIncorrectP1P2
	}
	if !c.gpo || c.genAC >= 2 || (c.genAC == 1 && c.firstCID != cidARQC) {
		return nil, reader.SWConditionsNotSatisf
	}
	dol := c.im.cdol1
	if c.genAC == 1 {
		dol = c.im.cdol2
		if req == cidARQC {
			return nil, swIncorrectP1P2 // a second GENERATE AC asks TC or AAC
		}
	}
	if len(a.Data) == 0 || len(a.Data) != dol.Len() {
		return nil, reader.SWWrongLength
	}
	vals, err := dol.Split(a.Data)
	if err != nil {
		return nil, reader.SWWrongLength
	}
	for t, v := range vals {
		c.term[t] = v
	}
	c.cdolData = append(c.cdolData, a.Data...)

	var cid byte
	if c.genAC == 0 {
		cid = c.riskManagement(req)
		c.firstCID = cid
	} else {
		cid = cidAAC
		arc := vals[0x8A]
		if req == cidTC && (bytes.Equal(arc, []byte("00")) || bytes.Equal(arc, []byte("Y3"))) {
			cid = cidTC
		}
	}
	c.genAC++

	// IAD, M/Chip layout: key index 01, CVN 10, CVR (6 bytes: byte 1 =
	// AC of the second generation bits 8-7, of the first bits 6-5), DAC
	// 00 00, counters (8 bytes).
	iad := make([]byte, 18)
	iad[0], iad[1] = 0x01, 0x10
	if c.genAC == 1 {
		iad[2] = cid >> 2
	} else {
		iad[2] = c.firstCID>>2 | cid
	}
	cda := a.P1&0x10 != 0 && c.p.AIP[0]&0x01 != 0 && cid != cidAAC
	if cda {
		iad[3] |= 0x02 // CVR: combined DDA/AC generation returned
	}
	ac := c.cryptogram(iad)
	atc := c.atcBytes()
	var v []byte
	v = tlv.Append(v, 0x9F27, []byte{cid})
	v = tlv.Append(v, 0x9F36, atc[:])
	if !cda {
		v = tlv.Append(v, 0x9F26, ac[:])
		v = tlv.Append(v, 0x9F10, iad)
		return tlv.Encode(0x77, v), reader.SWOK
	}
	hashed := append([]byte(nil), v...)
	hashed = tlv.Append(hashed, 0x9F10, iad)
	h := oda.TransactionDataHash(c.pdolData, c.cdolData, hashed)
	sig, err := c.im.icc.SignCDA(c.randBytes(8), cid, ac, h, c.term[0x9F37])
	if err != nil {
		return nil, swNoDiagnosis
	}
	v = tlv.Append(v, 0x9F4B, c.corrupt(sig))
	v = tlv.Append(v, 0x9F10, iad)
	return tlv.Encode(0x77, v), reader.SWOK
}

// riskManagement is the card's answer to the first GENERATE AC: never a
// higher cryptogram than asked (AAC < ARQC < TC); an expired card
// declines; a TC is turned into an ARQC above the offline limit, in a
// foreign currency or when the terminal saw ODA fail, or into an AAC when
// the terminal is offline-only (terminal type 3 or 6).
func (c *Card) riskManagement(req byte) byte {
	switch {
	case req == cidAAC || c.expired():
		return cidAAC
	case req == cidARQC:
		return cidARQC
	}
	tvr := c.term[0x95]
	odaFailed := len(tvr) == 5 && tvr[0]&0x4C != 0
	if c.withinOffline() && !odaFailed {
		return cidTC
	}
	if tt := c.term[0x9F35]; len(tt) == 1 && (tt[0]&0x0F == 3 || tt[0]&0x0F == 6) {
		return cidAAC
	}
	return cidARQC
}
