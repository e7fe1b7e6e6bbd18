package emv

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// kernelC2 is Kernel C-2 (Mastercard M/Chip): the terminal reads the card,
// restricts, verifies the cardholder, manages risk, decides with the TACs
// and IACs, and asks the card for its cryptogram with CDA.
func (s *session) kernelC2() error {
	aip, ok, err := s.readApplication()
	if err != nil || !ok {
		return err
	}
	return s.fullFlow(aip, s.odaMethod(aip))
}

// kernelGeneric runs the schemes whose kernels we do not implement: read
// the card, perform the ODA its AIP offers, and ask for an online
// cryptogram (or take the one a qVSDC-style card gave in GPO).
func (s *session) kernelGeneric() error {
	aip, ok, err := s.readApplication()
	if err != nil || !ok {
		return err
	}
	method := s.odaMethod(aip)
	if s.res.PAN.IsZero() {
		s.endApp("card gave no PAN and no track 2 equivalent data")
		return nil
	}
	if _, ok := s.icc[0x9F26]; ok {
		s.decideQ(method)
		return nil
	}
	return s.fullFlow(aip, method)
}

// fullFlow is the EMV flow after the records are read: processing
// restrictions, ODA, CVM, terminal risk management, terminal action
// analysis, GENERATE AC and (CDA) signature verification.
func (s *session) fullFlow(aip []byte, method string) error {
	for _, t := range []tlv.Tag{0x5F24, 0x8C} {
		if _, ok := s.icc[t]; !ok {
			s.tvr[0] |= bitICCDataMissing
			s.endApp("mandatory data object %s (%s) missing", t, tlv.Lookup(t).Name)
			return nil
		}
	}
	if s.res.PAN.IsZero() {
		s.endApp("card gave no PAN")
		return nil
	}
	cdol1, err := tlv.ParseDOL(s.icc[0x8C])
	if err != nil {
		s.endApp("CDOL1: %v", err)
		return nil
	}
	// Processing restrictions.
	if s.expired() {
		s.tvr[1] |= bitExpired
	}
	if s.notYetEffective() {
		s.tvr[1] |= bitNotYetEffective
	}
	// Offline data authentication before GENERATE AC.
	var iccKey *oda.PublicKey
	var ik *oda.IssuerKey
	cda := false
	switch method {
	case ODACDA:
		var kerr error
		ik, iccKey, kerr = s.iccKey(true)
		switch {
		case kerr != nil:
			s.odaDone(ODACDA, ik, kerr)
		case s.certExpired != nil:
			// CDA fails before it is asked for; the signature is checked
			// only if a replay's recorded GENERATE AC asked for CDA.
			s.tvr[0] |= bitCDAFailed
			s.res.ODA = &ODAResult{Method: ODACDA, Result: ODAFailed, Reason: s.certExpired.Error(), CertExpiry: "expired"}
		default:
			cda = true
		}
	case ODADDA, ODAFDDA:
		if s.cand.kernel == KernelC2 {
			s.odaNotPerformed(method, "Kernel C-2 performs CDA only")
			break
		}
		if _, err := s.performDDA(); err != nil {
			return err
		}
	case ODASDA:
		s.performSDA()
	default:
		s.odaNotPerformed(ODANone, "card offers no offline data authentication")
	}
	// Cardholder verification.
	s.cardholderVerification(aip)
	// Terminal risk management: floor limit.
	if s.cand.pre.floorExceeded || s.cand.pre.onlineRequired {
		s.tvr[3] |= bitFloorExceeded
	}
	// Terminal action analysis.
	p1 := s.actionAnalysis()
	if cda && p1 != 0x00 {
		p1 |= 0x10
	}
	if rec, ok := s.recordedP1(); ok && rec != p1 {
		// Replay: the card's answer depends on what was asked; ask what
		// the recording asked and say that the kernel would not have.
		s.noteDivergence(0x80, 0xAE, fmt.Sprintf("kernel chose GENERATE AC P1 %02X (%s), the recording asked %02X (%s): replayed with the recorded one",
			p1, describeP1(p1), rec, describeP1(rec)))
		p1 = rec
		cda = p1&0x10 != 0 && iccKey != nil
	}
	s.adoptRecorded(0x80, 0xAE, cdol1, false)
	cdolData := cdol1.Build(s.get)
	resp, sw, err := s.exchange(reader.GenerateAC(p1, cdolData))
	if isCardError(err) {
		return err
	}
	if err != nil || sw != reader.SWOK {
		s.res.Outcome = Declined
		s.res.Reason = "GENERATE AC: " + swOrErr(sw, err)
		s.res.TVR = s.tvr
		s.buildICCData()
		return nil
	}
	objs, perr := tlv.Parse(resp)
	if perr != nil || len(objs) != 1 {
		s.res.Outcome, s.res.Reason = Declined, fmt.Sprintf("GENERATE AC response malformed: %v", perr)
		s.res.TVR = s.tvr
		s.buildICCData()
		return nil
	}
	var cid byte
	switch objs[0].Tag {
	case 0x80:
		v := objs[0].Value
		if len(v) < 11 {
			s.res.Outcome, s.res.Reason = Declined, "GENERATE AC format 1 response too short"
			s.res.TVR = s.tvr
			s.buildICCData()
			return nil
		}
		cid = v[0]
		s.icc[0x9F27], s.icc[0x9F36], s.icc[0x9F26] = v[:1], v[1:3], v[3:11]
		if len(v) > 11 {
			s.icc[0x9F10] = v[11:]
		}
	case 0x77:
		c := tlv.Value(objs, 0x9F27)
		if len(c) != 1 || tlv.Value(objs, 0x9F36) == nil {
			s.res.Outcome, s.res.Reason = Declined, "GENERATE AC response without CID or ATC"
			s.res.TVR = s.tvr
			s.buildICCData()
			return nil
		}
		cid = c[0]
		for _, o := range objs[0].Children {
			s.icc[o.Tag] = o.Value // the GENERATE AC answer replaces earlier values
		}
	default:
		s.res.Outcome, s.res.Reason = Declined, "GENERATE AC answered with template "+objs[0].Tag.String()
		s.res.TVR = s.tvr
		s.buildICCData()
		return nil
	}
	got := cryptogramType(cid)
	s.res.Cryptogram = got
	if cda && got != "AAC" {
		sdad := tlv.Value(objs, 0x9F4B)
		if objs[0].Tag != 0x77 || sdad == nil {
			s.odaDone(ODACDA, ik, fmt.Errorf("%w: no SDAD in the GENERATE AC answer", errMissing))
		} else {
			var rest []byte
			for _, o := range objs[0].Children {
				if o.Tag != 0x9F4B {
					rest = tlv.Append(rest, o.Tag, o.Value)
				}
			}
			ac, _, verr := oda.VerifyCDA(*iccKey, sdad, s.term[0x9F37], cid, s.pdolData, cdolData, rest)
			if verr == nil {
				s.icc[0x9F26] = ac
			}
			s.odaDone(ODACDA, ik, verr)
		}
		if s.res.ODA.Result != ODAOK {
			s.res.Outcome, s.res.Reason = Declined, "CDA failed: "+s.res.ODA.Reason
			s.res.TVR = s.tvr
			s.buildICCData()
			return nil
		}
	} else if cda {
		s.odaNotPerformed(ODACDA, "card declined before CDA")
	}
	switch {
	case got == "AAC":
		s.res.Outcome, s.res.Reason = Declined, "card returned an AAC"
	case got == "ARQC" && p1&0xC0 != 0x00:
		s.res.Outcome = OnlineRequest
	case got == "TC" && p1&0xC0 == 0x40:
		s.res.Outcome = Approved
	default:
		s.res.Outcome, s.res.Reason = Declined, fmt.Sprintf("card answered %s to a request for %s", got, cryptogramType(p1))
	}
	s.res.TVR = s.tvr
	s.buildICCData()
	return nil
}

// recordedP1 is the reference control parameter of the recorded GENERATE
// AC the replay will answer next.
func (s *session) recordedP1() (byte, bool) {
	if s.recorded == nil {
		return 0, false
	}
	raw, ok := s.recorded.RecordedCommand(0x80, 0xAE)
	if !ok {
		return 0, false
	}
	cmd, err := reader.ParseCommand(raw)
	if err != nil {
		return 0, false
	}
	return cmd.P1, true
}

// noteDivergence tells a replayed recording that the kernel followed it
// where its own choice differed.
func (s *session) noteDivergence(cla, ins byte, reason string) {
	if n, ok := s.recorded.(DivergenceNoter); ok {
		n.NoteDivergence(cla, ins, reason)
	}
}

// describeP1 names a GENERATE AC reference control parameter.
func describeP1(p1 byte) string {
	d := cryptogramType(p1)
	if p1&0x10 != 0 {
		d += " with CDA"
	}
	return d
}

// actionAnalysis compares the TVR with the TACs and IACs (Book 3 10.7) and
// returns GENERATE AC P1: 00 AAC, 40 TC, 80 ARQC.
func (s *session) actionAnalysis() byte {
	cfg := s.cand.cfg
	iac := func(t tlv.Tag, dflt byte) []byte {
		if v := s.icc[t]; len(v) == 5 {
			return v
		}
		return bytes.Repeat([]byte{dflt}, 5)
	}
	tac := func(v []byte) []byte {
		if len(v) == 5 {
			return v
		}
		return make([]byte, 5)
	}
	hit := func(a, b []byte) bool {
		for i := 0; i < 5; i++ {
			if s.tvr[i]&(a[i]|b[i]) != 0 {
				return true
			}
		}
		return false
	}
	switch {
	case hit(tac(cfg.TACDenial), iac(0x9F0E, 0x00)):
		return 0x00
	case s.t.Config.OnlineCapable && (s.cand.kernel == KernelGeneric || hit(tac(cfg.TACOnline), iac(0x9F0F, 0xFF))):
		return 0x80
	case !s.t.Config.OnlineCapable && hit(tac(cfg.TACDefault), iac(0x9F0D, 0xFF)):
		return 0x00
	}
	return 0x40
}

// cardholderVerification evaluates the CVM list (Book 3 10.5) against what
// a contactless reader supports: online PIN, signature, no CVM, and
// on-device CVM when the card offers it.
func (s *session) cardholderVerification(aip []byte) {
	defer func() { s.term[0x9F34] = cvmResultsFor(s.res.CVM, s.term[0x9F34]) }()
	if !s.cand.pre.cvmRequired {
		s.res.CVM = "no_cvm"
		return
	}
	if len(aip) == 2 && aip[0]&0x02 != 0 && s.cand.kernel == KernelC2 {
		s.res.CVM = "cdcvm"
		return
	}
	list := s.icc[0x8E]
	if len(list) < 10 || len(list)%2 != 0 {
		s.tvr[0] |= bitICCDataMissing
		s.tvr[2] |= bitCVMFailed
		s.res.CVM = ""
		return
	}
	x := int64(binary.BigEndian.Uint32(list[0:4]))
	y := int64(binary.BigEndian.Uint32(list[4:8]))
	amt := s.tx.Amount
	appCurrency := bytes.Equal(s.icc[0x9F42], s.term[0x5F2A])
	for i := 8; i+2 <= len(list); i += 2 {
		code, cond := list[i], list[i+1]
		applies := false
		switch cond {
		case 0x00:
			applies = true
		case 0x01, 0x04:
			applies = false // unattended cash, manual cash: not this terminal
		case 0x02:
			applies = s.tx.Type == 0x00 || s.tx.Type == 0x20
		case 0x03:
			applies = supportedCVM(code & 0x3F)
		case 0x05:
			applies = s.tx.Type == 0x09
		case 0x06:
			applies = appCurrency && amt < x
		case 0x07:
			applies = appCurrency && amt > x
		case 0x08:
			applies = appCurrency && amt < y
		case 0x09:
			applies = appCurrency && amt > y
		}
		if !applies {
			continue
		}
		method := code & 0x3F
		if supportedCVM(method) {
			s.res.CVM = map[byte]string{0x02: "online_pin", 0x1E: "signature", 0x1F: "no_cvm"}[method]
			s.term[0x9F34] = []byte{code, cond, 0x00}
			if method == 0x02 {
				s.tvr[2] |= bitOnlinePIN
			}
			return
		}
		if method == 0x00 || code&0x40 == 0 {
			break // fail CVM processing, or no "apply next"
		}
	}
	s.tvr[2] |= bitCVMFailed
	s.res.CVM = ""
	s.term[0x9F34] = []byte{0x3F, 0x00, 0x01}
}

func supportedCVM(m byte) bool { return m == 0x02 || m == 0x1E || m == 0x1F }

// cvmResultsFor keeps results set by list processing, else encodes the CVM.
func cvmResultsFor(cvm string, cur []byte) []byte {
	if len(cur) == 3 && cur[0] != 0x3F {
		return cur
	}
	return cvmResults(cvm)
}
