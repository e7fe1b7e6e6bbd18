package emv

import (
	"fmt"

	"posagent/emv/tlv"
)

// kernelQ is Kernel C-3 (Visa qVSDC) and Kernel C-7 (UnionPay qPBOC): the
// card decides in GET PROCESSING OPTIONS and returns its cryptogram there;
// the reader reads the records, performs fDDA for an offline approval and
// applies the card's CVM decision (CTQ).
func (s *session) kernelQ() error {
	aip, ok, err := s.readApplication()
	if err != nil || !ok {
		return err
	}
	method := s.odaMethod(aip)
	if s.res.PAN.IsZero() {
		s.endApp("card gave no PAN and no track 2 equivalent data")
		return nil
	}
	if _, ok := s.icc[0x9F26]; !ok {
		// A card answering the qVSDC GPO without a cryptogram runs the full
		// flow: the generic path asks for one with GENERATE AC.
		s.res.Notes = append(s.res.Notes, "no cryptogram in the GPO answer: continuing with GENERATE AC")
		return s.fullFlow(aip, method)
	}
	s.decideQ(method)
	return nil
}

// readApplication sends GET PROCESSING OPTIONS and reads the records the
// AFL names. ok is false when an outcome is already set.
func (s *session) readApplication() (aip []byte, ok bool, err error) {
	aip, afl, _, ok, err := s.gpo()
	if err != nil || !ok {
		return nil, false, err
	}
	if ok, err := s.readRecords(afl); err != nil || !ok {
		return aip, false, err
	}
	s.cardFacts()
	return aip, true, nil
}

// cidQ is the cryptogram type of a qVSDC answer: 9F27 when present, else
// the CVR in the Issuer Application Data (byte 5 bits 6-5).
func (s *session) cidQ() byte {
	if v := s.icc[0x9F27]; len(v) == 1 {
		return v[0]
	}
	if iad := s.icc[0x9F10]; len(iad) >= 5 {
		switch iad[4] & 0x30 {
		case 0x10:
			return 0x40
		case 0x20:
			return 0x80
		case 0x00:
			return 0x00
		}
	}
	return 0x80 // an AC without type information can only go online
}

// decideQ turns the card's qVSDC/qPBOC answer into an outcome.
func (s *session) decideQ(method string) {
	// The card computed its cryptogram over the terminal data of the GPO,
	// TVR included: field 55 must carry that TVR for the issuer to verify
	// it, whatever the reader notes afterwards (the outcome keeps them).
	// The one exception (Book C-3, ODA for online authorisations): an fDDA
	// failure found after the card answered is flagged to the issuer in
	// the TVR of the online message (byte 1 "DDA failed").
	gpoTVR := s.tvr
	onlineODAFailed := false
	defer func() {
		copy(s.res.TVR[:], s.tvr[:])
		s.tvr = gpoTVR
		if onlineODAFailed {
			s.tvr[0] |= bitDDAFailed
		}
		s.buildICCData()
	}()
	pre := s.cand.pre
	ctq := s.icc[0x9F6C]
	ctqBit := func(byteIdx int, bit byte) bool { return len(ctq) > byteIdx && ctq[byteIdx]&bit != 0 }
	cid := s.cidQ()
	s.res.Cryptogram = cryptogramType(cid)
	if _, ok := s.icc[0x9F27]; !ok {
		s.icc[0x9F27] = []byte{cid}
	}

	// CVM (VCPS 5.x): the card's CTQ says what it wants.
	switch {
	case ctqBit(0, 0x80):
		s.res.CVM = "online_pin"
	case ctqBit(1, 0x80):
		s.res.CVM = "cdcvm"
	case ctqBit(0, 0x40):
		s.res.CVM = "signature"
	case pre.cvmRequired:
		if len(pre.ttq) == 4 && pre.ttq[0]&0x02 != 0 {
			s.res.CVM = "signature"
		} else {
			s.res.CVM = ""
			s.res.Outcome = Declined
			s.res.Reason = "CVM required and the card gave no CVM the reader supports"
			s.odaNotPerformed(method, "declined before offline data authentication")
			return
		}
	default:
		s.res.CVM = "no_cvm"
	}
	s.term[0x9F34] = cvmResults(s.res.CVM)

	switch s.res.Cryptogram {
	case "AAC":
		s.odaNotPerformed(method, "card declined")
		s.res.Outcome, s.res.Reason = Declined, "card returned an AAC"
	case "ARQC":
		s.res.Outcome = OnlineRequest
		onlineODAFailed = s.odaForOnline(method, ctqBit)
	case "TC":
		s.offlineApprovalQ(method, ctqBit)
	default:
		s.odaNotPerformed(method, "unknown cryptogram type")
		s.res.Outcome, s.res.Reason = Declined, fmt.Sprintf("cryptogram information data %02X is RFU", cid)
	}
}

// odaForOnline is Book C-3's "offline data authentication for online
// authorisations": when the TTQ sent to the card (the recorded one in a
// replay) sets byte 1 bit 1 and the card signed its dynamic data with the
// ARQC, the reader performs fDDA. A failure leaves the payment online, to
// be flagged to the issuer (the return value), unless the card's CTQ asks
// to switch interface when ODA fails.
func (s *session) odaForOnline(method string, ctqBit func(int, byte) bool) (failed bool) {
	ttq := s.term[0x9F66]
	switch {
	case len(ttq) != 4 || ttq[0]&0x01 == 0:
		s.odaNotPerformed(method, "online authorisation: the issuer authenticates the card (TTQ does not ask for ODA online)")
		return false
	case method != ODAFDDA:
		s.odaNotPerformed(method, "online authorisation: the card offers no fDDA")
		return false
	}
	if _, ok := s.icc[0x9F4B]; !ok {
		s.odaNotPerformed(method, "online authorisation: the card signed no dynamic data with its ARQC")
		return false
	}
	if s.performFDDA() {
		return false
	}
	if ctqBit(0, 0x10) {
		s.res.Outcome, s.res.Reason = TryAnotherInterface, "fDDA failed on an online authorisation: card asks for another interface"
		return false
	}
	s.res.Reason = "fDDA failed on an online authorisation: flagged to the issuer (TVR byte 1 DDA failed)"
	return true
}

// offlineApprovalQ checks a TC: expiry, online PIN, and fDDA, which an
// offline approval must pass.
func (s *session) offlineApprovalQ(method string, ctqBit func(int, byte) bool) {
	switch {
	case s.res.CVM == "online_pin":
		s.odaNotPerformed(method, "online PIN required")
		s.res.Outcome, s.res.Reason = OnlineRequest, "card returned a TC but requires online PIN"
		return
	case s.expired():
		s.odaNotPerformed(method, "application expired")
		s.res.Outcome, s.res.Reason = Declined, "offline approval of an expired application"
		return
	case method != ODAFDDA:
		s.odaNotPerformed(method, "card offers no fDDA")
		s.res.Outcome, s.res.Reason = Declined, "offline approval without fDDA"
		return
	}
	if s.performFDDA() {
		s.res.Outcome = Approved
		return
	}
	// VCPS: CTQ byte 1 bit 6 go online if ODA fails; bit 5 switch interface.
	switch {
	case ctqBit(0, 0x20) && s.t.Config.OnlineCapable:
		s.res.Outcome, s.res.Reason = OnlineRequest, "fDDA failed: card asks to go online"
	case ctqBit(0, 0x10):
		s.res.Outcome, s.res.Reason = TryAnotherInterface, "fDDA failed: card asks for another interface"
	default:
		s.res.Outcome, s.res.Reason = Declined, "fDDA failed: "+s.res.ODA.Reason
	}
}

// cvmResults encodes 9F34 for a CVM name.
func cvmResults(cvm string) []byte {
	switch cvm {
	case "online_pin":
		return []byte{0x02, 0x00, 0x00}
	case "signature":
		return []byte{0x1E, 0x00, 0x00}
	case "cdcvm":
		return []byte{0x01, 0x00, 0x02}
	case "no_cvm":
		return []byte{0x1F, 0x00, 0x02}
	}
	return []byte{0x3F, 0x00, 0x01}
}

var _ = tlv.Tag(0)
