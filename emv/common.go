package emv

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"posagent/money"
	"time"

	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/reader"
)

// resetApp clears per-application state before a kernel runs.
func (s *session) resetApp() {
	s.term = s.terminalData()
	s.icc = map[tlv.Tag][]byte{}
	s.pdolData, s.staticData, s.staticBad, s.certExpired, s.certsRead = nil, nil, false, nil, false
	s.tvr = [5]byte{}
	s.res.ODA, s.res.CVM, s.res.Cryptogram, s.res.ICCData = nil, "", "", nil
}

// storeICC keeps card data objects, first occurrence wins: a later
// duplicate cannot overwrite what was already used.
func (s *session) storeICC(objs []tlv.TLV) {
	tlv.Walk(objs, func(o tlv.TLV) {
		if _, dup := s.icc[o.Tag]; !dup {
			s.icc[o.Tag] = o.Value
		}
	})
}

func (s *session) terminalData() map[tlv.Tag][]byte {
	c := s.t.Config
	d := s.tx.Date
	ans := func(v string, n int) []byte { return tlv.Fit([]byte(v), n, tlv.FormatANS) }
	cur, _ := money.Numeric(s.tx.Currency) // Run refused unknown currencies
	m := map[tlv.Tag][]byte{
		0x9F02: tlv.EncodeN(uint64(max(s.tx.Amount, 0)), 6),
		0x9F03: tlv.EncodeN(uint64(max(s.tx.OtherAmount, 0)), 6),
		0x9F1A: tlv.EncodeN(uint64(c.CountryCode), 2),
		0x5F2A: tlv.EncodeN(uint64(s.tx.Currency), 2),
		0x5F36: {byte(cur.Exponent())},
		0x9A:   tlv.EncodeN(uint64(d.Year()%100*10000+int(d.Month())*100+d.Day()), 3),
		0x9F21: tlv.EncodeN(uint64(d.Hour()*10000+d.Minute()*100+d.Second()), 3),
		0x9C:   {s.tx.Type},
		0x9F37: s.un,
		0x95:   make([]byte, 5),
		0x9F33: c.Capabilities,
		0x9F35: {c.TerminalType},
		0x9F40: c.AddCapabilities,
		0x9F1C: ans(c.TerminalID, 8),
		0x9F16: ans(c.MerchantID, 15),
		0x9F15: tlv.EncodeN(uint64(c.MCC), 2),
		0x9F4E: []byte(c.MerchantName),
		0x9F34: {0x3F, 0x00, 0x00},
		0x9F1E: ans(c.TerminalID, 8),
		0x9F53: {0x52}, // 'R' retail
	}
	if s.cand != nil {
		cfg := s.cand.cfg
		if s.cand.pre.ttq != nil {
			m[0x9F66] = s.cand.pre.ttq
		}
		if len(cfg.AppVersion) > 0 {
			m[0x9F09] = cfg.AppVersion
		}
		m[0x9F06] = cfg.AID
	}
	return m
}

// get returns a value for a DOL: terminal data first, then card data.
func (s *session) get(t tlv.Tag) ([]byte, bool) {
	if t == 0x95 {
		return s.tvr[:], true
	}
	if v, ok := s.term[t]; ok {
		return v, true
	}
	v, ok := s.icc[t]
	return v, ok
}

// adoptRecorded takes the terminal data of a recorded command (replay):
// the command with this CLA/INS that the recording holds next, its data cut
// by dol. Only terminal-sourced values are taken; the transaction date and
// amounts follow them. strip83 unwraps GPO's 83 template.
func (s *session) adoptRecorded(cla, ins byte, dol tlv.DOL, strip83 bool) {
	if s.recorded == nil || len(dol) == 0 {
		return
	}
	raw, ok := s.recorded.RecordedCommand(cla, ins)
	if !ok {
		return
	}
	cmd, err := reader.ParseCommand(raw)
	if err != nil || len(cmd.Data) == 0 {
		return
	}
	data := cmd.Data
	if strip83 {
		objs, err := tlv.Parse(data)
		if err != nil || len(objs) != 1 || objs[0].Tag != 0x83 {
			return
		}
		data = objs[0].Value
	}
	vals, err := dol.Split(data)
	if err != nil {
		return
	}
	for t, v := range vals {
		if tlv.Lookup(t).Source != tlv.FromTerminal && t != 0x9F37 {
			continue
		}
		v = append([]byte(nil), v...)
		switch t {
		case 0x95:
			copy(s.tvr[:], v)
			continue
		case 0x9A:
			if d, err := time.Parse("060102", hex.EncodeToString(v)); err == nil {
				s.tx.Date = d
			}
		case 0x9F02:
			if a, ok := tlv.DecodeN(v); ok {
				s.tx.Amount = int64(a)
			}
		case 0x9F37:
			s.un = v
		}
		s.term[t] = v
	}
}

// gpo sends GET PROCESSING OPTIONS with the PDOL data and decodes the
// answer into AIP, AFL and (format 2) the other objects. ok is false when
// the outcome is already set.
func (s *session) gpo() (aip, afl []byte, objs []tlv.TLV, ok bool, err error) {
	pdol, derr := tlv.ParseDOL(s.icc[0x9F38])
	if derr != nil {
		s.endApp("PDOL: %v", derr)
		return nil, nil, nil, false, nil
	}
	s.adoptRecorded(0x80, 0xA8, pdol, true)
	s.pdolData = pdol.Build(s.get)
	data, sw, err := s.exchange(reader.GetProcessingOptions(tlv.Encode(0x83, s.pdolData)))
	if isCardError(err) {
		return nil, nil, nil, false, err
	}
	if err == nil && sw == reader.SWWrongLength && len(s.pdolData) > 0 {
		// Some cards refuse the PDOL data they asked for; retry once as
		// terminals in the field do, without PDOL data.
		s.res.Notes = append(s.res.Notes, "GPO with PDOL data answered 6700; retried without PDOL data")
		s.pdolData = nil
		data, sw, err = s.exchange(reader.GetProcessingOptions([]byte{0x83, 0x00}))
		if isCardError(err) {
			return nil, nil, nil, false, err
		}
	}
	if err != nil {
		s.endApp("GET PROCESSING OPTIONS: %v", err)
		return nil, nil, nil, false, nil
	}
	switch {
	case sw == reader.SWConditionsNotSatisf || sw == 0x6984 || sw == 0x6986:
		// Book B / C-3: conditions of use not satisfied -> Select Next.
		s.res.Outcome = SelectNext
		s.res.Reason = "GET PROCESSING OPTIONS: " + sw.Error()
		return nil, nil, nil, false, nil
	case sw != reader.SWOK:
		s.endApp("GET PROCESSING OPTIONS: %v", sw)
		return nil, nil, nil, false, nil
	}
	objs, perr := tlv.Parse(data)
	if perr != nil {
		s.endApp("GET PROCESSING OPTIONS response: %v", perr)
		return nil, nil, nil, false, nil
	}
	if len(objs) == 0 {
		s.endApp("GET PROCESSING OPTIONS response is empty")
		return nil, nil, nil, false, nil
	}
	switch objs[0].Tag {
	case 0x80: // format 1: AIP (2) || AFL
		v := objs[0].Value
		if len(v) < 2 || (len(v)-2)%4 != 0 {
			s.endApp("GET PROCESSING OPTIONS format 1: %d bytes", len(v))
			return nil, nil, nil, false, nil
		}
		aip, afl = v[:2], v[2:]
		s.icc[0x82], s.icc[0x94] = aip, afl
		return aip, afl, nil, true, nil
	case 0x77:
		s.storeICC(objs)
		aip, afl = tlv.Value(objs, 0x82), tlv.Value(objs, 0x94)
		if len(aip) != 2 {
			s.endApp("GET PROCESSING OPTIONS: no AIP (82) in the response")
			return nil, nil, objs, false, nil
		}
		if len(afl)%4 != 0 {
			s.endApp("GET PROCESSING OPTIONS: AFL of %d bytes", len(afl))
			return nil, nil, objs, false, nil
		}
		return aip, afl, objs, true, nil
	}
	s.storeICC(objs) // kept for the report only
	s.endApp("GET PROCESSING OPTIONS: answer is template %s, not 80 or 77", objs[0].Tag)
	return nil, nil, nil, false, nil
}

// readRecords reads every record the AFL names and collects the static
// data to be authenticated (Book 3 10.3).
func (s *session) readRecords(afl []byte) (ok bool, err error) {
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi, first, last, nODA := afl[i]>>3, afl[i+1], afl[i+2], afl[i+3]
		if sfi == 0 || sfi == 31 || first == 0 || last < first || int(nODA) > int(last-first)+1 || afl[i]&0x07 != 0 {
			s.endApp("AFL entry %X is invalid", afl[i:i+4])
			return false, nil
		}
		for rec := int(first); rec <= int(last); rec++ {
			data, sw, err := s.exchange(reader.ReadRecord(sfi, byte(rec)))
			if isCardError(err) {
				return false, err
			}
			if err == nil && sw == reader.SWConditionsNotSatisf {
				// The card says this application cannot be used here, as
				// 6985 to GET PROCESSING OPTIONS does: try the next one.
				s.res.Outcome = SelectNext
				s.res.Reason = fmt.Sprintf("READ RECORD SFI %d record %d: %v", sfi, rec, sw)
				return false, nil
			}
			if err != nil || sw != reader.SWOK {
				s.endApp("READ RECORD SFI %d record %d: %s", sfi, rec, swOrErr(sw, err))
				return false, nil
			}
			objs, perr := tlv.Parse(data)
			if perr != nil {
				s.endApp("READ RECORD SFI %d record %d: %v", sfi, rec, perr)
				return false, nil
			}
			forODA := rec < int(first)+int(nODA)
			if len(objs) != 1 || objs[0].Tag != 0x70 {
				if sfi <= 10 {
					if forODA {
						s.staticBad = true
					}
					if len(objs) == 0 || (objs[0].Tag != 0x77) {
						s.endApp("READ RECORD SFI %d record %d: not a record template (70)", sfi, rec)
						return false, nil
					}
				}
			}
			if forODA {
				if sfi <= 10 && len(objs) == 1 && objs[0].Tag == 0x70 {
					s.staticData = append(s.staticData, objs[0].Value...)
				} else {
					s.staticData = append(s.staticData, data...)
				}
			}
			s.storeICC(objs)
		}
	}
	return true, nil
}

// cardFacts fills PAN, expiry and track 2 from what the card gave.
func (s *session) cardFacts() {
	if v, ok := s.icc[0x57]; ok {
		if tr, err := pan.ParseTrack2(v); err == nil {
			s.res.Track2 = tr
		}
	}
	if s.res.Track2.PAN.IsZero() {
		if v, ok := s.icc[0x9F6B]; ok {
			if tr, err := pan.ParseTrack2(v); err == nil {
				s.res.Track2 = tr
			}
		}
	}
	if v, ok := s.icc[0x5A]; ok {
		if p, err := pan.FromBCD(v); err == nil {
			s.res.PAN = p
		}
	}
	if s.res.PAN.IsZero() {
		s.res.PAN = s.res.Track2.PAN
	}
	if v, ok := s.icc[0x5F24]; ok && len(v) == 3 {
		s.res.Expiry = fmt.Sprintf("%X", v[:2])
	} else if s.res.Track2.Expiry != "" {
		s.res.Expiry = s.res.Track2.Expiry
	}
	if v, ok := s.icc[0x5F34]; ok {
		s.res.PANSeq = v
	}
}

// expired reports whether the card's expiry date (5F24 YYMMDD) is before
// the transaction date; effective reports 5F25 in the future.
func (s *session) expired() bool {
	v, ok := s.icc[0x5F24]
	if !ok || len(v) != 3 {
		return false
	}
	return bytes.Compare(v, s.term[0x9A]) < 0
}

func (s *session) notYetEffective() bool {
	v, ok := s.icc[0x5F25]
	if !ok || len(v) != 3 {
		return false
	}
	return bytes.Compare(v, s.term[0x9A]) > 0
}

// odaMethod is the strongest method the AIP offers that the terminal
// supports: CDA > DDA (fDDA on a TTQ kernel) > SDA > none.
func (s *session) odaMethod(aip []byte) string {
	c := s.t.Config
	ttq := false
	if pdol, err := tlv.ParseDOL(s.icc[0x9F38]); err == nil {
		ttq = pdol.Has(0x9F66)
	}
	switch {
	case aip[0]&0x01 != 0 && c.SupportCDA:
		return ODACDA
	case aip[0]&0x20 != 0 && c.SupportDDA:
		if ttq {
			return ODAFDDA
		}
		return ODADDA
	case aip[0]&0x40 != 0 && c.SupportSDA:
		return ODASDA
	}
	return ODANone
}

// cryptogramType decodes CID bits 8-7.
func cryptogramType(cid byte) string {
	switch cid & 0xC0 {
	case 0x00:
		return "AAC"
	case 0x40:
		return "TC"
	case 0x80:
		return "ARQC"
	}
	return "RFU"
}

// iccTags are the data objects sent to the acquirer in field 55.
var iccTags = []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
	0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x9F6E, 0x9F66, 0x9F7C, 0x5F34}

// buildICCData assembles field 55 from terminal and card data; Result.TVR
// is the terminal's view (set by the caller or here when unset).
func (s *session) buildICCData() {
	var out []byte
	for _, t := range iccTags {
		var v []byte
		var ok bool
		switch t {
		case 0x84:
			v, ok = s.icc[0x84]
		case 0x9F34:
			v, ok = s.term[0x9F34]
		default:
			v, ok = s.get(t)
		}
		if ok && len(v) > 0 {
			out = tlv.Append(out, t, v)
		}
	}
	s.res.ICCData = out
}
