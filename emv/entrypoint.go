package emv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/reader"
)

// ppseName is "2PAY.SYS.DDF01".
var ppseName = []byte("2PAY.SYS.DDF01")

// candidate is one (application, kernel) combination Entry Point may select.
type candidate struct {
	aid      []byte // ADF name from the card (4F), or the terminal AID
	label    string
	priority int // 1 highest .. 15, 16 = none
	order    int
	kernel   Kernel
	cfg      *AIDConfig
	pre      preprocessing
	// fci is set when the application was already selected while building
	// the list (list-of-AIDs fallback).
	fci []byte
}

// preprocessing is Entry Point pre-processing for one AID (Book B 3.1).
type preprocessing struct {
	allowed         bool
	cvmRequired     bool
	floorExceeded   bool
	zeroAmount      bool
	onlineRequired  bool
	ttq             []byte
	notAllowedCause string
}

func (s *session) preprocess(cfg *AIDConfig) preprocessing {
	p := preprocessing{allowed: true}
	amt := s.tx.Amount
	if cfg.TransactionLimit > 0 && amt >= cfg.TransactionLimit {
		p.allowed, p.notAllowedCause = false, "amount at or above the contactless transaction limit"
	}
	if amt == 0 {
		p.zeroAmount = true
		switch cfg.ZeroAmount {
		case "no":
			p.allowed, p.notAllowedCause = false, "zero amount not allowed"
		case "", "online":
			p.onlineRequired = true
		}
	}
	if amt > cfg.FloorLimit {
		p.floorExceeded, p.onlineRequired = true, true
	}
	if cfg.CVMRequiredLimit > 0 && amt >= cfg.CVMRequiredLimit {
		p.cvmRequired = true
	}
	if len(cfg.TTQ) == 4 {
		ttq := append([]byte(nil), cfg.TTQ...)
		ttq[1] &^= 0xC0 // reset online cryptogram required, CVM required
		if p.onlineRequired {
			ttq[1] |= 0x80
		}
		if p.cvmRequired {
			ttq[1] |= 0x40
		}
		if !s.t.Config.OnlineCapable {
			ttq[0] |= 0x08 // offline-only reader
		}
		p.ttq = ttq
	}
	return p
}

// defaultKernel is the kernel for an AID when the card names none (Book B
// 3.3.2.5: by RID).
func defaultKernel(aid []byte) Kernel {
	switch {
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0, 0x03}):
		return KernelC3
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0, 0x04}):
		return KernelC2
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0, 0x25}):
		return KernelC4
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0, 0x65}):
		return KernelC5
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0x01, 0x52}):
		return KernelC6
	case bytes.HasPrefix(aid, []byte{0xA0, 0, 0, 0x03, 0x33}):
		return KernelC7
	}
	return KernelGeneric
}

// implemented reports the kernels this terminal runs itself.
func implemented(k Kernel) bool { return k == KernelC2 || k == KernelC3 || k == KernelC7 }

// entryPoint runs Entry Point: pre-processing, protocol activation is the
// reader's, combination selection, final selection, kernel activation and
// outcome processing (Select Next loops).
func (s *session) entryPoint() error {
	cfgs := s.t.Config.AIDs
	anyAllowed := false
	for i := range cfgs {
		if s.preprocess(&cfgs[i]).allowed {
			anyAllowed = true
		}
	}
	if !anyAllowed {
		s.res.Outcome = TryAnotherInterface
		s.res.Reason = "amount not allowed contactless for any application"
		return nil
	}
	cands, err := s.ppse()
	if err != nil {
		return err
	}
	fallback, next := len(cands) == 0, 0
	if fallback {
		var c *candidate
		if c, next, err = s.listOfAIDs(0); err != nil {
			return err
		}
		if c != nil {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		if s.res.Outcome == OutcomeNone {
			s.res.Outcome = EndApplication
			s.res.Reason = "no application on the card matches the terminal's AID list"
		}
		return nil
	}
	for _, c := range cands {
		s.res.Candidates = append(s.res.Candidates, fmt.Sprintf("%X %s (%s)", c.aid, c.label, c.kernel))
	}
	// Report the first candidate until an application is selected.
	s.res.AID, s.res.Label = cands[0].aid, cands[0].label
	s.res.Scheme = schemeFor(cands[0].aid, cands[0].cfg, "", cands)
	for len(cands) > 0 {
		c := cands[0]
		cands = cands[1:]
		if !c.pre.allowed {
			continue
		}
		out, err := s.tryCandidate(c, cands)
		if err != nil {
			return err
		}
		if out != SelectNext {
			return nil
		}
		if fallback && len(cands) == 0 {
			c, n, err := s.listOfAIDs(next)
			if err != nil {
				return err
			}
			if c != nil {
				cands, next = append(cands, c), n
			}
		}
	}
	if s.res.Outcome == SelectNext || s.res.Outcome == OutcomeNone {
		s.res.Outcome = EndApplication
		if s.res.Reason == "" {
			s.res.Reason = "no application could be selected"
		} else {
			s.res.Reason = "no application left: " + s.res.Reason
		}
	}
	return nil
}

// newApplication starts the result over when candidate c is selected
// (final SELECT answered with an FCI): every fact a result reports (AID,
// label, scheme, PAN, track 2, expiry, PAN sequence number, kernel, ODA,
// CVM, cryptogram, TVR, field 55, reason) comes from the selected
// application, never from one selected before it. The previous attempt's
// reason is kept as a note.
func (s *session) newApplication(c *candidate, rest []*candidate) {
	r := s.res
	if r.Reason != "" && r.Outcome == SelectNext {
		r.Notes = append(r.Notes, fmt.Sprintf("application %X: %s", r.AID, r.Reason))
	}
	*r = Result{Notes: r.Notes, Candidates: r.Candidates}
	r.AID, r.Label = c.aid, c.label
	r.Scheme = schemeFor(c.aid, c.cfg, "", rest)
	s.cand = nil
}

// tryCandidate does final selection and kernel activation for c.
func (s *session) tryCandidate(c *candidate, rest []*candidate) (Outcome, error) {
	fci := c.fci
	if fci == nil {
		data, sw, err := s.exchange(reader.Select(c.aid))
		if isCardError(err) {
			return 0, err
		}
		if err != nil || !selectOK(sw) {
			s.res.Outcome = SelectNext
			s.res.Reason = fmt.Sprintf("SELECT %X: %v", c.aid, swOrErr(sw, err))
			return SelectNext, nil
		}
		fci = data
	}
	objs, err := tlv.Parse(fci)
	if err != nil {
		s.res.Outcome = SelectNext
		s.res.Reason = fmt.Sprintf("SELECT %X: FCI: %v", c.aid, err)
		return SelectNext, nil
	}
	// The application is selected: the result starts over for it.
	s.newApplication(c, rest)
	df := tlv.Value(objs, 0x84)
	if df == nil {
		df = c.aid
	}
	label := c.label
	if l := tlv.Value(objs, 0x50); len(l) > 0 {
		label = string(l)
	}
	s.res.AID, s.res.Label = df, label
	s.res.Scheme = schemeFor(df, c.cfg, "", rest)
	s.cand = c
	s.resetApp()
	s.storeICC(objs)
	s.res.KernelRan = true
	s.res.Kernel = c.kernel
	switch c.kernel {
	case KernelC2:
		err = s.kernelC2()
	case KernelC3, KernelC7:
		err = s.kernelQ()
	default:
		err = s.kernelGeneric()
	}
	if err != nil {
		return 0, err
	}
	// Whatever the kernel's path, report what the card gave.
	s.cardFacts()
	if aip := s.icc[0x82]; s.res.ODA == nil && len(aip) == 2 {
		s.res.ODA = &ODAResult{Method: s.odaMethod(aip), Result: ODANotPerformed}
	}
	if !s.res.PAN.IsZero() {
		s.res.Scheme = schemeFor(df, c.cfg, s.res.PAN.Digits(), rest)
	}
	return s.res.Outcome, nil
}

// selectOK accepts 9000 and the warnings (62xx/63xx) some cards give with a
// valid FCI, except 6283 (application blocked).
func selectOK(sw reader.SW) bool {
	if sw == reader.SWOK {
		return true
	}
	return (sw.SW1() == 0x62 || sw.SW1() == 0x63) && sw != reader.SWSelectedFileInvalid
}

func swOrErr(sw reader.SW, err error) string {
	if err != nil {
		return err.Error()
	}
	return sw.Error()
}

// ppse selects the PPSE and builds the candidate list (Book B 3.3).
func (s *session) ppse() ([]*candidate, error) {
	data, sw, err := s.exchange(reader.Select(ppseName))
	if isCardError(err) {
		return nil, err
	}
	if err != nil || sw != reader.SWOK {
		s.res.Notes = append(s.res.Notes, "PPSE not available ("+swOrErr(sw, err)+"): selecting by the terminal's AID list")
		return nil, nil
	}
	objs, err := tlv.Parse(data)
	if err != nil {
		s.res.Notes = append(s.res.Notes, "PPSE FCI malformed: "+err.Error())
		return nil, nil
	}
	disc, ok := tlv.Find(objs, 0xBF0C)
	if !ok {
		return nil, nil
	}
	var cands []*candidate
	order := 0
	for _, e := range disc.Children {
		if e.Tag != 0x61 {
			continue
		}
		adf := tlv.Value(e.Children, 0x4F)
		if len(adf) < 5 || len(adf) > 16 {
			continue
		}
		requested := defaultKernel(adf)
		if k := tlv.Value(e.Children, 0x9F2A); len(k) > 0 && k[0]&0xC0 == 0 {
			requested = Kernel(k[0] & 0x3F)
		}
		prio := 16
		if p := tlv.Value(e.Children, 0x87); len(p) == 1 && p[0]&0x0F != 0 {
			prio = int(p[0] & 0x0F)
		}
		for i := range s.t.Config.AIDs {
			cfg := &s.t.Config.AIDs[i]
			if !aidMatches(cfg, adf) {
				continue
			}
			k := cfg.Kernel
			if implemented(requested) {
				k = requested
			}
			order++
			cands = append(cands, &candidate{aid: adf, label: string(tlv.Value(e.Children, 0x50)),
				priority: prio, order: order, kernel: k, cfg: cfg, pre: s.preprocess(cfg)})
			break
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].priority < cands[j].priority })
	return cands, nil
}

// aidMatches: exact, or the card's AID extends the terminal's with partial
// selection allowed.
func aidMatches(cfg *AIDConfig, adf []byte) bool {
	if bytes.Equal(cfg.AID, adf) {
		return true
	}
	return cfg.PartialSelection && len(adf) > len(cfg.AID) && bytes.HasPrefix(adf, cfg.AID)
}

// listOfAIDs is the fallback for cards without a PPSE: select each
// terminal AID in turn from index start (EMV Book 1 12.3.3), following
// partial selection. Contactless Book B has no such step; real cards without
// PPSE exist, and recordings often lack the PPSE exchange. It returns the
// first application the card selects, already selected, and the index to
// continue from.
func (s *session) listOfAIDs(start int) (*candidate, int, error) {
	for i := start; i < len(s.t.Config.AIDs); i++ {
		cfg := &s.t.Config.AIDs[i]
		data, sw, err := s.exchange(reader.Select(cfg.AID))
		if isCardError(err) {
			return nil, 0, err
		}
		if err != nil || !selectOK(sw) {
			continue
		}
		objs, perr := tlv.Parse(data)
		if perr != nil {
			continue
		}
		df := tlv.Value(objs, 0x84)
		if df == nil || !(bytes.Equal(df, cfg.AID) || (cfg.PartialSelection && bytes.HasPrefix(df, cfg.AID))) {
			continue
		}
		k := cfg.Kernel
		if d := defaultKernel(df); implemented(d) {
			k = d
		}
		return &candidate{aid: df, label: string(tlv.Value(objs, 0x50)), priority: 16,
			kernel: k, cfg: cfg, pre: s.preprocess(cfg), fci: data}, i + 1, nil
	}
	return nil, len(s.t.Config.AIDs), nil
}

// schemeFor names the card's scheme: by RID, and for co-badged domestic
// applications (CB) by the PAN's BIN or the other applications the card
// lists.
func schemeFor(aid []byte, cfg *AIDConfig, panDigits string, others []*candidate) string {
	if s := SchemeByRID(aid); s != "" {
		return s
	}
	if panDigits != "" {
		if s := pan.Scheme(panDigits); s != "" {
			return s
		}
	}
	for _, o := range others {
		if s := SchemeByRID(o.aid); s != "" {
			return s
		}
	}
	if cfg != nil && cfg.Scheme != "" && cfg.Scheme != "cb" {
		return cfg.Scheme
	}
	return "other"
}

// SchemeByRID names the scheme of an application identifier by its
// registered application provider identifier (and, for Maestro, the PIX),
// "" when unknown. It is the only AID-to-scheme rule of the tree.
func SchemeByRID(aid []byte) string {
	h := strings.ToUpper(hex.EncodeToString(aid))
	switch {
	case strings.HasPrefix(h, "A0000000043060"), strings.HasPrefix(h, "A0000000042203"):
		return "maestro"
	case strings.HasPrefix(h, "A000000003"):
		return "visa"
	case strings.HasPrefix(h, "A000000004"):
		return "mastercard"
	case strings.HasPrefix(h, "A000000025"):
		return "amex"
	case strings.HasPrefix(h, "A000000065"):
		return "jcb"
	case strings.HasPrefix(h, "A000000152"):
		return "discover"
	case strings.HasPrefix(h, "A000000333"):
		return "unionpay"
	case strings.HasPrefix(h, "A000000277"):
		return "interac"
	case strings.HasPrefix(h, "A000000359"), strings.HasPrefix(h, "A000000059"), strings.HasPrefix(h, "D276000025"):
		return "girocard"
	case strings.HasPrefix(h, "A000000524"):
		return "rupay"
	case strings.HasPrefix(h, "A000000658"):
		return "mir"
	case strings.HasPrefix(h, "A000000384"):
		return "eftpos"
	case strings.HasPrefix(h, "A000000098"):
		return "visa"
	case strings.HasPrefix(h, "A000000121"):
		return "dankort"
	case strings.HasPrefix(h, "D578000002"):
		return "bankaxept"
	case strings.HasPrefix(h, "A000000141"):
		return "pagobancomat"
	}
	return ""
}

var errMissing = errors.New("missing mandatory data")
