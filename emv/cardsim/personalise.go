package cardsim

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"posagent/emv/arqc"
	"posagent/emv/cardsim/perso"
	"posagent/emv/tlv"
)

// ppseName is the contactless directory, 2PAY.SYS.DDF01.
var ppseName = []byte("2PAY.SYS.DDF01")

// image is the personalised, immutable part of a card: everything a real
// card holds in its files, computed once in New.
type image struct {
	ppseFCI []byte
	fci     []byte
	afl     []byte
	records map[uint16][]byte // sfi<<8 | record -> record template (70 ...)
	track2  []byte
	pan     []byte // 5A value
	pdol    tlv.DOL
	cdol1   tlv.DOL
	cdol2   tlv.DOL
	ddol    tlv.DOL
	icc     *perso.ICC
	mk      arqc.Key // ICC master key (AC)
	expiry  []byte   // 5F24 value
	static  []byte   // static data to be authenticated
}

// schemeKeys are the test keys of one scheme, loaded (and validated) once.
type schemeKeys struct {
	ca     *perso.CA
	issuer *rsa.PrivateKey
	icc    *rsa.PrivateKey
}

var (
	keyMu    sync.Mutex
	keyCache = map[string]*schemeKeys{}
	// certCache holds signed certificates by their inputs: the raw RSA
	// operation is deterministic, so a second card with the same data gets
	// the same bytes without the 1408-bit private operations.
	certCache sync.Map // [32]byte -> *certs
)

type certs struct {
	issuer *perso.Issuer
	icc    *perso.ICC
}

// keyScheme is the scheme whose test keys sign a card; schemes without
// committed test keys use the Visa ones.
func keyScheme(scheme string) string {
	if slices.Contains(perso.Schemes, scheme) {
		return scheme
	}
	return "visa"
}

func loadKeys(scheme string) (*schemeKeys, error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[scheme]; ok {
		return k, nil
	}
	ca, err := perso.TestCA(scheme)
	if err != nil {
		return nil, err
	}
	is, err := perso.TestIssuerKey(scheme)
	if err != nil {
		return nil, err
	}
	icc, err := perso.TestICCKey(scheme)
	if err != nil {
		return nil, err
	}
	icc.Precompute()
	k := &schemeKeys{ca: ca, issuer: is, icc: icc}
	keyCache[scheme] = k
	return k, nil
}

// CA returns the test certification authority that signs cards of
// profile p, filed under p.CARID when set. Tests add its CAPK to the
// terminal's key list when the RID is not a scheme's own (amex).
func CA(p Profile) (*perso.CA, error) {
	k, err := loadKeys(keyScheme(p.Scheme))
	if err != nil {
		return nil, err
	}
	ca := *k.ca
	if p.CARID != ([5]byte{}) {
		ca.RID = p.CARID
	}
	return &ca, nil
}

// signCerts returns the issuer and ICC certificates for the card, from the
// cache when the same inputs were signed before.
func signCerts(k *schemeKeys, pan, certExpiry, iccExpiry string, static []byte) (*certs, error) {
	h := sha256.New()
	for _, s := range []string{k.ca.Key.N.String(), pan, certExpiry, iccExpiry} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(static)
	var id [32]byte
	h.Sum(id[:0])
	if c, ok := certCache.Load(id); ok {
		return c.(*certs), nil
	}
	issuer, err := k.ca.NewIssuer(k.issuer, pan[:6], certExpiry, [3]byte{0x00, 0x00, 0x01})
	if err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	icc, err := issuer.NewICC(k.icc, pan, iccExpiry, static)
	if err != nil {
		return nil, fmt.Errorf("ICC certificate: %w", err)
	}
	c := &certs{issuer: issuer, icc: icc}
	certCache.Store(id, c)
	return c, nil
}

// validate checks the fields New needs; errors name the field, never the
// PAN.
func (p *Profile) validate() error {
	bad := func(field, format string, a ...any) error {
		return &ProfileError{Field: field, Err: fmt.Errorf(format, a...)}
	}
	switch p.Kind {
	case KindQ, KindMChip, KindGeneric:
	default:
		return bad("Kind", "%q is not q, mchip or generic", p.Kind)
	}
	if len(p.AID) < 5 || len(p.AID) > 16 {
		return bad("AID", "%d bytes, want 5-16", len(p.AID))
	}
	if len(p.PAN) < 12 || len(p.PAN) > 19 || !isDigits(p.PAN) {
		return bad("PAN", "want 12-19 digits (got %d characters)", len(p.PAN))
	}
	for _, d := range []struct{ name, v string }{{"Expiry", p.Expiry}, {"Effective", p.Effective}} {
		if !validYYMMDD(d.v) {
			return bad(d.name, "%q is not YYMMDD", d.v)
		}
	}
	if len(p.CertExpiry) != 4 || !isDigits(p.CertExpiry) {
		return bad("CertExpiry", "%q is not MMYY", p.CertExpiry)
	}
	if len(p.Label) > 16 {
		return bad("Label", "%d characters, at most 16", len(p.Label))
	}
	if len(p.Language) > 8 || len(p.Language)%2 != 0 {
		return bad("Language", "%d characters, want up to four 2-letter codes", len(p.Language))
	}
	if p.PSN>>4 > 9 || p.PSN&0x0F > 9 {
		return bad("PSN", "%02X is not BCD", p.PSN)
	}
	if p.Country > 999 || p.Currency > 999 {
		return bad("Country/Currency", "not a 3-digit numeric code")
	}
	if p.OfflineLimit < 0 || p.CVMLimit < 0 || p.CVMLimit > 0xFFFFFFFF {
		return bad("OfflineLimit/CVMLimit", "out of range")
	}
	if p.Fault >= numFaults {
		return bad("Fault", "%v is unknown", p.Fault)
	}
	if _, err := tlv.ParseDOL(p.PDOL); err != nil {
		return bad("PDOL", "%v", err)
	}
	if p.Kind == KindQ {
		d, _ := tlv.ParseDOL(p.PDOL)
		for _, t := range []tlv.Tag{0x9F66, 0x9F02, 0x5F2A, 0x9F37} {
			if !d.Has(t) {
				return bad("PDOL", "a qVSDC/qPBOC card needs %s in its PDOL", t)
			}
		}
	}
	if len(p.CVMList) > 0 && (len(p.CVMList) < 10 || len(p.CVMList)%2 != 0) {
		return bad("CVMList", "%d bytes, want 8 + 2n (n >= 1)", len(p.CVMList))
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validYYMMDD(s string) bool {
	if len(s) != 6 || !isDigits(s) {
		return false
	}
	m := (s[2]-'0')*10 + s[3] - '0'
	d := (s[4]-'0')*10 + s[5] - '0'
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// bcdDigits packs a digit string, padding an odd count with F (cn).
func bcdDigits(s string) []byte {
	b := make([]byte, (len(s)+1)/2)
	for i := range b {
		b[i] = 0xFF
	}
	for i := 0; i < len(s); i++ {
		d := s[i]
		switch {
		case d >= '0' && d <= '9':
			d -= '0'
		case d == 'D':
			d = 0x0D
		default:
			d = 0x0F
		}
		if i%2 == 0 {
			b[i/2] = d<<4 | 0x0F
		} else {
			b[i/2] = b[i/2]&0xF0 | d
		}
	}
	return b
}

// recKey addresses a record.
func recKey(sfi, rec byte) uint16 { return uint16(sfi)<<8 | uint16(rec) }

// obj is one data object of a record, kept in order.
type obj struct {
	tag tlv.Tag
	val []byte
	raw []byte // when set, written as is (hostile encodings)
}

func encodeObjs(objs []obj) []byte {
	var b []byte
	for _, o := range objs {
		if o.raw != nil {
			b = append(b, o.raw...)
			continue
		}
		b = tlv.Append(b, o.tag, o.val)
	}
	return b
}

// cvmList builds 8E: X = CVM limit; online PIN over X (else the next
// rule), signature over X, then no CVM.
func (p *Profile) cvmList() []byte {
	if len(p.CVMList) > 0 {
		return slices.Clone(p.CVMList)
	}
	b := make([]byte, 8, 14)
	binary.BigEndian.PutUint32(b[:4], uint32(p.CVMLimit))
	return append(b, 0x42, 0x07, 0x1E, 0x07, 0x1F, 0x00)
}

// personalise computes the card's files, certificates and keys.
func personalise(p *Profile) (*image, error) {
	keys, err := loadKeys(keyScheme(p.Scheme))
	if err != nil {
		return nil, err
	}
	im := &image{records: map[uint16][]byte{}}
	im.pdol, _ = tlv.ParseDOL(p.PDOL)
	im.cdol1, _ = tlv.ParseDOL(cdol1)
	im.cdol2, _ = tlv.ParseDOL(cdol2)
	im.ddol, _ = tlv.ParseDOL(ddol)
	im.mk = arqc.DeriveICCMasterKey(p.IMK, p.PAN, p.PSN)
	im.pan = bcdDigits(p.PAN)
	im.expiry = bcdDigits(p.Expiry)
	t2 := p.PAN + "D" + p.Expiry[:4] + "201" + "0000000000000"
	if len(t2) > 37 {
		t2 = t2[:37]
	}
	im.track2 = bcdDigits(t2)
	missing := p.Fault == FaultMissingPAN

	// FCIs.
	var entry []byte
	entry = tlv.Append(entry, 0x4F, p.AID)
	entry = tlv.Append(entry, 0x50, []byte(p.Label))
	entry = tlv.Append(entry, 0x87, []byte{p.Priority})
	if p.KernelID != 0 {
		entry = tlv.Append(entry, 0x9F2A, []byte{p.KernelID})
	}
	ppseA5 := tlv.Encode(0xA5, tlv.Encode(0xBF0C, tlv.Encode(0x61, entry)))
	im.ppseFCI = tlv.Encode(0x6F, append(tlv.Encode(0x84, ppseName), ppseA5...))
	var a5 []byte
	a5 = tlv.Append(a5, 0x50, []byte(p.Label))
	a5 = tlv.Append(a5, 0x87, []byte{p.Priority})
	if len(p.PDOL) > 0 {
		a5 = tlv.Append(a5, 0x9F38, p.PDOL)
	}
	if p.Language != "" {
		a5 = tlv.Append(a5, 0x5F2D, []byte(p.Language))
	}
	a5 = tlv.Append(a5, 0x9F11, []byte{0x01})
	a5 = tlv.Append(a5, 0x9F12, []byte(p.Label))
	a5 = tlv.Append(a5, 0xBF0C, tlv.Encode(0x9F4D, []byte{0x0B, 0x0A}))
	im.fci = tlv.Encode(0x6F, append(tlv.Encode(0x84, p.AID), tlv.Encode(0xA5, a5)...))

	// Data records. oda marks the records signed for offline data
	// authentication (their 70 values, in AFL order, form the static data).
	type record struct {
		sfi, rec byte
		oda      bool
		objs     []obj
	}
	panObj := obj{tag: 0x5A, val: im.pan}
	if p.Fault == FaultBadLength {
		panObj = obj{raw: append([]byte{0x5A, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}, im.pan...)}
	}
	var recs []record
	common := []obj{panObj,
		{tag: 0x5F24, val: im.expiry},
		{tag: 0x5F25, val: bcdDigits(p.Effective)},
		{tag: 0x5F28, val: tlv.EncodeN(uint64(p.Country), 2)},
		{tag: 0x9F07, val: p.AUC[:]},
	}
	if missing || p.Track2Only {
		common = common[1:]
	}
	switch p.Kind {
	case KindQ:
		r1 := append(common, obj{tag: 0x9F42, val: tlv.EncodeN(uint64(p.Currency), 2)}, obj{tag: 0x9F4A, val: []byte{0x82}})
		recs = append(recs, record{sfi: 1, rec: 1, oda: true, objs: r1})
	default:
		var r1 []obj
		if !missing {
			r1 = append(r1, obj{tag: 0x57, val: im.track2})
		}
		r1 = append(r1, obj{tag: 0x9F42, val: tlv.EncodeN(uint64(p.Currency), 2)})
		recs = append(recs, record{sfi: 1, rec: 1, objs: r1})
		r2 := common
		if !p.NoPSN {
			r2 = append(r2, obj{tag: 0x5F34, val: []byte{p.PSN}})
		}
		r2 = append(r2,
			obj{tag: 0x9F08, val: []byte{0x00, 0x02}},
			obj{tag: 0x8C, val: cdol1},
			obj{tag: 0x8D, val: cdol2},
			obj{tag: 0x8E, val: p.cvmList()},
			obj{tag: 0x9F0D, val: p.IACDefault[:]},
			obj{tag: 0x9F0E, val: p.IACDenial[:]},
			obj{tag: 0x9F0F, val: p.IACOnline[:]},
			obj{tag: 0x9F4A, val: []byte{0x82}},
		)
		recs = append(recs, record{sfi: 2, rec: 1, oda: true, objs: r2})
	}
	for _, r := range recs {
		v := encodeObjs(r.objs)
		if r.oda {
			im.static = append(im.static, v...)
		}
	}
	im.static = append(im.static, p.AIP[:]...) // 9F4A lists 82

	// Certificates.
	iccExpiry := p.Expiry[2:4] + p.Expiry[:2]
	if p.Fault == FaultExpiredCert {
		iccExpiry = "1220"
	}
	cs, err := signCerts(keys, p.PAN, p.CertExpiry, iccExpiry, im.static)
	if err != nil {
		return nil, &ProfileError{Field: "certificates", Err: err}
	}
	im.icc = cs.icc
	ca, err := CA(*p)
	if err != nil {
		return nil, err
	}
	certSFI := byte(2)
	if p.Kind != KindQ {
		certSFI = 3
	}
	c1 := []obj{{tag: 0x8F, val: []byte{ca.Index}}, {tag: 0x90, val: cs.issuer.Cert}, {tag: 0x9F32, val: cs.issuer.Exponent}}
	if len(cs.issuer.Remainder) > 0 {
		c1 = append(c1, obj{tag: 0x92, val: cs.issuer.Remainder})
	}
	c2 := []obj{{tag: 0x9F46, val: cs.icc.Cert}, {tag: 0x9F47, val: cs.icc.Exponent}}
	if len(cs.icc.Remainder) > 0 {
		c2 = append(c2, obj{tag: 0x9F48, val: cs.icc.Remainder})
	}
	if p.Kind != KindQ {
		c2 = append(c2, obj{tag: 0x9F49, val: ddol})
	}
	recs = append(recs, record{sfi: certSFI, rec: 1, objs: c1}, record{sfi: certSFI, rec: 2, objs: c2})

	// AFL: one entry per SFI, records in order, ODA records first.
	for _, r := range recs {
		im.records[recKey(r.sfi, r.rec)] = tlv.Encode(0x70, encodeObjs(r.objs))
		n := len(im.afl)
		if n >= 4 && im.afl[n-4]>>3 == r.sfi {
			im.afl[n-2] = r.rec
			if r.oda {
				im.afl[n-1]++
			}
			continue
		}
		var nODA byte
		if r.oda {
			nODA = 1
		}
		im.afl = append(im.afl, r.sfi<<3, r.rec, r.rec, nODA)
	}
	if p.Fault == FaultRecordNotFound {
		im.afl[len(im.afl)-2]++ // one record past the last one held
	}
	return im, nil
}
