package emv

import (
	"errors"
	"fmt"
	"time"

	"posagent/emv/capk"
	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// TVR bits used by the kernels (EMV Book 3 annex C5).
const (
	// byte 1
	bitODANotPerformed = 0x80
	bitSDAFailed       = 0x40
	bitICCDataMissing  = 0x20
	bitDDAFailed       = 0x08
	bitCDAFailed       = 0x04
	bitSDASelected     = 0x02
	// byte 2
	bitExpired         = 0x40
	bitNotYetEffective = 0x20
	// byte 3
	bitCVMFailed = 0x80
	bitOnlinePIN = 0x04
	// byte 4
	bitFloorExceeded = 0x80
)

func (s *session) caKeys() *capk.List {
	if s.t.CAKeys != nil {
		return s.t.CAKeys
	}
	return capk.Default()
}

// iccKey recovers the issuer key and then the ICC public key (for DDA,
// fDDA, CDA), or only the issuer key (SDA, wantICC false).
func (s *session) iccKey(wantICC bool) (*oda.IssuerKey, *oda.PublicKey, error) {
	if s.staticBad {
		return nil, nil, fmt.Errorf("%w: a record for offline data authentication is not a 70 template", oda.ErrInput)
	}
	need := []tlv.Tag{0x8F, 0x90, 0x9F32}
	if wantICC {
		need = append(need, 0x9F46, 0x9F47)
	}
	for _, t := range need {
		if _, ok := s.icc[t]; !ok {
			s.tvr[0] |= bitICCDataMissing
			return nil, nil, fmt.Errorf("%w: tag %s missing", errMissing, t)
		}
	}
	idx := s.icc[0x8F]
	if len(idx) != 1 {
		return nil, nil, fmt.Errorf("%w: CA public key index of %d bytes", oda.ErrInput, len(idx))
	}
	rid := s.cand.aid
	if len(rid) > 5 {
		rid = rid[:5]
	}
	cands := s.caKeys().Candidates(rid, idx[0], s.t.Config.TestKeys)
	panDigits := s.res.PAN.Digits()
	// An expired certificate fails ODA, but the chain and the signature
	// are still verified (with expiry left aside) so that the result says
	// whether they are sound: s.certExpired keeps the expiry failure and
	// odaDone reports both.
	s.certExpired, s.certsRead = nil, false
	expiryAside := func(recover func(date time.Time) error) error {
		err := recover(s.tx.Date)
		if errors.Is(err, oda.ErrExpired) {
			if err2 := recover(time.Date(1991, 1, 1, 0, 0, 0, 0, time.UTC)); err2 == nil {
				s.certExpired = err
				return nil
			}
		}
		return err
	}
	var ik *oda.IssuerKey
	err := expiryAside(func(date time.Time) (err error) {
		ik, err = oda.RecoverIssuerKey(cands, s.icc[0x90], s.icc[0x92], s.icc[0x9F32], panDigits, date, s.t.Revoked)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if !wantICC {
		s.certsRead = true
		return ik, nil, nil
	}
	static := s.staticForODA()
	expired := s.certExpired
	var icc *oda.PublicKey
	err = expiryAside(func(date time.Time) (err error) {
		icc, err = oda.RecoverICCKey(ik.PublicKey, s.icc[0x9F46], s.icc[0x9F48], s.icc[0x9F47], static, panDigits, date)
		return err
	})
	if s.certExpired == nil {
		s.certExpired = expired
	}
	if err != nil {
		return ik, nil, err
	}
	s.certsRead = true
	return ik, icc, nil
}

// staticForODA is the records' static data, plus the AIP when the Static
// Data Authentication Tag List (9F4A) names it (the only tag it may name).
func (s *session) staticForODA() []byte {
	out := append([]byte(nil), s.staticData...)
	if l := s.icc[0x9F4A]; len(l) == 1 && l[0] == 0x82 {
		out = append(out, s.icc[0x82]...)
	}
	return out
}

// oda records the method's result in the Result and the TVR.
func (s *session) odaDone(method string, ik *oda.IssuerKey, err error) bool {
	r := &ODAResult{Method: method, Result: ODAOK}
	if ik != nil {
		r.CAKey = ik.CA.String()
	}
	r.Signature = ODAOK
	if err != nil {
		r.Signature = ODAFailed
	}
	switch {
	case s.certExpired != nil || errors.Is(err, oda.ErrExpired):
		r.CertExpiry = "expired"
		if err == nil {
			err = s.certExpired // sound, but expired: ODA fails
		}
	case s.certsRead:
		r.CertExpiry = "valid"
	}
	if err != nil {
		r.Result, r.Reason = ODAFailed, err.Error()
		switch method {
		case ODASDA:
			s.tvr[0] |= bitSDAFailed
		case ODACDA:
			s.tvr[0] |= bitCDAFailed
		default:
			s.tvr[0] |= bitDDAFailed
		}
	}
	s.res.ODA = r
	return err == nil
}

// notPerformed records that ODA was not performed.
func (s *session) odaNotPerformed(method, why string) {
	s.tvr[0] |= bitODANotPerformed
	s.res.ODA = &ODAResult{Method: method, Result: ODANotPerformed, Reason: why}
}

// performSDA verifies the Signed Static Application Data (93).
func (s *session) performSDA() bool {
	s.tvr[0] |= bitSDASelected
	ik, _, err := s.iccKey(false)
	if err == nil {
		ssad, ok := s.icc[0x93]
		if !ok {
			s.tvr[0] |= bitICCDataMissing
			err = fmt.Errorf("%w: tag 93 missing", errMissing)
		} else {
			var dac [2]byte
			dac, err = oda.VerifySDA(ik.PublicKey, ssad, s.staticForODA())
			if err == nil {
				s.icc[0x9F45] = dac[:]
			}
		}
	}
	return s.odaDone(ODASDA, ik, err)
}

// performDDA sends INTERNAL AUTHENTICATE with the DDOL data and verifies
// the signature. It returns err only for card transport failures.
func (s *session) performDDA() (bool, error) {
	ik, icc, err := s.iccKey(true)
	if err != nil {
		return s.odaDone(ODADDA, ik, err), nil
	}
	ddol := tlv.DOL{{Tag: 0x9F37, Len: 4}} // default DDOL
	if v, ok := s.icc[0x9F49]; ok {
		d, derr := tlv.ParseDOL(v)
		if derr != nil || !d.Has(0x9F37) {
			return s.odaDone(ODADDA, ik, fmt.Errorf("%w: DDOL without unpredictable number", oda.ErrInput)), nil
		}
		ddol = d
	}
	s.adoptRecorded(0x00, 0x88, ddol, false)
	data := ddol.Build(s.get)
	resp, sw, err := s.exchange(reader.InternalAuthenticate(data))
	if isCardError(err) {
		return false, err
	}
	if err != nil || sw != reader.SWOK {
		return s.odaDone(ODADDA, ik, fmt.Errorf("INTERNAL AUTHENTICATE: %s", swOrErr(sw, err))), nil
	}
	sdad, perr := sdadFrom(resp)
	if perr != nil {
		return s.odaDone(ODADDA, ik, perr), nil
	}
	dyn, verr := oda.VerifyDDA(*icc, sdad, data)
	if verr == nil {
		s.icc[0x9F4C] = dyn
	}
	return s.odaDone(ODADDA, ik, verr), nil
}

// sdadFrom takes 9F4B from a format 2 answer or the value of a format 1
// (80) answer.
func sdadFrom(resp []byte) ([]byte, error) {
	objs, err := tlv.Parse(resp)
	if err != nil {
		return nil, err
	}
	if len(objs) == 1 && objs[0].Tag == 0x80 {
		return objs[0].Value, nil
	}
	if v := tlv.Value(objs, 0x9F4B); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("%w: no signed dynamic application data", errMissing)
}

// performFDDA verifies the fDDA signature returned in the GPO answer.
func (s *session) performFDDA() bool {
	sdad, ok := s.icc[0x9F4B]
	if !ok {
		s.tvr[0] |= bitICCDataMissing
		return s.odaDone(ODAFDDA, nil, fmt.Errorf("%w: no SDAD (9F4B) in the GPO response", errMissing))
	}
	ik, icc, err := s.iccKey(true)
	if err != nil {
		return s.odaDone(ODAFDDA, ik, err)
	}
	_, err = oda.VerifyFDDA(*icc, sdad, s.term[0x9F37], s.term[0x9F02], s.term[0x5F2A], s.icc[0x9F69])
	return s.odaDone(ODAFDDA, ik, err)
}
