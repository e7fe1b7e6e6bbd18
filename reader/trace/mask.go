package trace

import (
	"bytes"
	"posagent/reader"

	"posagent/emv/pan"
	"posagent/emv/tlv"
)

// Mask returns a copy of t in which card data that must not sit in a plain
// file is replaced by values of the same length, so that the TLV structure,
// the record lengths and the kernel's flow on replay stay as recorded:
//
//   - PAN (5A): the digits between the first 6 and the last 4 become 9
//     (PANs of 5 to 10 digits keep only the last 4, shorter ones none);
//   - track 2 equivalent data (57, 9F6B): the PAN as above, expiry and
//     service code kept, discretionary data (CVV, PVV) digits become 0;
//     track 2 discretionary data (9F20) digits become 0;
//   - track 1 (56): PAN as above, name letters become X, discretionary
//     data become "0"; track 1 discretionary data (9F1F) becomes "0"s;
//   - cardholder name (5F20, 9F0B): every character except space and "/"
//     becomes X;
//   - application cryptogram (9F26, and the AC inside a format-1 GENERATE
//     AC response) becomes 00 bytes;
//   - VERIFY / CHANGE REFERENCE DATA data (PIN blocks) becomes FF bytes.
//
// Objects are found in responses and in command data that is BER-TLV
// (not in SELECT names or DOL-concatenated GENERATE AC and INTERNAL
// AUTHENTICATE data), at any nesting depth. After that, every PAN seen is
// also searched for as raw BCD and ASCII digits anywhere in the session
// (records that are not TLV, proprietary files) and masked the same way.
//
// A masked recording still replays, but offline data authentication no
// longer verifies: the ICC public key certificate and the signed data cover
// the real PAN.
func Mask(t *Trace) *Trace {
	out := t.clone()
	m := &masker{}
	for i := range out.Exchanges {
		ex := &out.Exchanges[i]
		var ins byte
		if len(ex.Command) >= 4 {
			ins = ex.Command[1]
			m.command(ex.Command)
		}
		if len(ex.Response) >= 2 {
			m.response(ins, ex.Response[:len(ex.Response)-2])
		}
	}
	for _, p := range m.pans {
		for i := range out.Exchanges {
			ex := &out.Exchanges[i]
			maskRaw(ex.Command, p)
			maskRaw(ex.Response, p)
		}
	}
	return out
}

// clone deep-copies t.
func (t *Trace) clone() *Trace {
	out := &Trace{
		Meta:      append([]Meta(nil), t.Meta...),
		Comments:  append([]string(nil), t.Comments...),
		Exchanges: make([]Exchange, len(t.Exchanges)),
	}
	n := 0
	for _, ex := range t.Exchanges {
		n += len(ex.Command) + len(ex.Response)
	}
	arena := make([]byte, 0, n) // one allocation for all APDUs
	clone := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	for i, ex := range t.Exchanges {
		out.Exchanges[i] = Exchange{
			Command:  clone(ex.Command),
			Response: clone(ex.Response),
			Comments: append([]string(nil), ex.Comments...),
			Line:     ex.Line,
		}
	}
	return out
}

// masker masks in place and remembers the PANs it saw (as digit strings).
type masker struct {
	pans [][]byte
}

func (m *masker) command(cmd []byte) {
	a, err := reader.ParseCommand(cmd) // a.Data aliases cmd: masked in place
	if err != nil || len(a.Data) == 0 {
		return
	}
	switch a.INS {
	case 0x20, 0x24: // VERIFY, CHANGE REFERENCE DATA: PIN blocks
		for i := range a.Data {
			a.Data[i] = 0xFF
		}
	case 0xA4, 0xAE, 0x88, 0x82, 0x2A:
		// SELECT names and DOL-concatenated data are not TLV: leave them,
		// the raw PAN pass still covers them.
	default:
		m.tlvData(a.Data)
	}
}

func (m *masker) response(ins byte, data []byte) {
	objs, err := tlv.Parse(data)
	if err != nil {
		return
	}
	if ins == 0xAE {
		// Format 1 GENERATE AC: 80 [CID ATC(2) AC(8) IAD...].
		for _, o := range objs {
			if o.Tag == 0x80 && len(o.Value) >= 11 {
				clear(o.Value[3:11])
			}
		}
	}
	m.walk(objs)
}

func (m *masker) tlvData(data []byte) {
	if objs, err := tlv.Parse(data); err == nil {
		m.walk(objs)
	}
}

// walk masks primitive objects; their Value slices alias the exchange bytes.
func (m *masker) walk(objs []tlv.TLV) {
	tlv.Walk(objs, func(o tlv.TLV) {
		v := o.Value
		switch o.Tag {
		case 0x5A:
			m.see(maskCN(v))
		case 0x57, 0x9F6B:
			m.see(maskTrack2(v))
		case 0x9F20:
			zeroDigits(v, 0)
		case 0x56:
			m.see(maskTrack1(v))
		case 0x9F1F:
			fill(v, '0')
		case 0x5F20, 0x9F0B:
			maskName(v)
		case 0x9F26:
			clear(v)
		}
	})
}

func (m *masker) see(p []byte) {
	if len(p) < 11 {
		return // nothing between first 6 and last 4 to search for
	}
	for _, q := range m.pans {
		if bytes.Equal(p, q) {
			return
		}
	}
	m.pans = append(m.pans, p)
}

// nibble access over BCD bytes.
func nib(b []byte, i int) byte {
	if i%2 == 0 {
		return b[i/2] >> 4
	}
	return b[i/2] & 0x0F
}

func setNib(b []byte, i int, v byte) {
	if i%2 == 0 {
		b[i/2] = b[i/2]&0x0F | v<<4
	} else {
		b[i/2] = b[i/2]&0xF0 | v
	}
}

// maskDigitNibbles masks the digit nibbles [0, n) of b as a PAN and returns
// the original digits.
func maskDigitNibbles(b []byte, n int) []byte {
	orig := make([]byte, n)
	for i := 0; i < n; i++ {
		orig[i] = '0' + nib(b, i)
	}
	front, back := pan.Keep(n)
	for i := front; i < n-back; i++ {
		setNib(b, i, 9)
	}
	return orig
}

// digitRun counts the leading nibbles of b that are decimal digits.
func digitRun(b []byte, from int) int {
	n := 0
	for i := from; i < 2*len(b) && nib(b, i) <= 9; i++ {
		n++
	}
	return n
}

// maskCN masks a compressed-numeric PAN (digits, then F padding).
func maskCN(v []byte) []byte {
	return maskDigitNibbles(v, digitRun(v, 0))
}

// maskTrack2 masks track 2 equivalent data: PAN D YYMM SSS discretionary F.
func maskTrack2(v []byte) []byte {
	n := digitRun(v, 0)
	p := maskDigitNibbles(v, n)
	if n < 2*len(v) && nib(v, n) == 0x0D {
		zeroDigits(v, n+1+7)
	}
	return p
}

// zeroDigits sets every digit nibble from nibble index from to 0.
func zeroDigits(v []byte, from int) {
	for i := from; i < 2*len(v); i++ {
		if nib(v, i) <= 9 {
			setNib(v, i, 0)
		}
	}
}

func fill(v []byte, c byte) {
	for i := range v {
		v[i] = c
	}
}

// maskTrack1 masks track 1: format code, PAN ^ NAME ^ YYMM SSS discretionary.
func maskTrack1(v []byte) []byte {
	c1 := bytes.IndexByte(v, '^')
	if c1 < 0 {
		fill(v, '0')
		return nil
	}
	start := 0
	if c1 > 0 && (v[0] < '0' || v[0] > '9') {
		start = 1 // format code, e.g. 'B'
	}
	var digits []byte
	var pos []int
	for i := start; i < c1; i++ {
		if v[i] >= '0' && v[i] <= '9' {
			digits = append(digits, v[i])
			pos = append(pos, i)
		}
	}
	front, back := pan.Keep(len(digits))
	for k := front; k < len(digits)-back; k++ {
		v[pos[k]] = '9'
	}
	rest := v[c1+1:]
	c2 := bytes.IndexByte(rest, '^')
	if c2 < 0 {
		fill(rest, '0')
		return digits
	}
	maskName(rest[:c2])
	if tail := rest[c2+1:]; len(tail) > 7 {
		fill(tail[7:], '0')
	}
	return digits
}

func maskName(v []byte) {
	for i, c := range v {
		if c != ' ' && c != '/' {
			v[i] = 'X'
		}
	}
}

// maskRaw masks every occurrence of PAN p (digits) in b, as BCD and as
// ASCII digits.
func maskRaw(b []byte, p []byte) {
	if len(b) == 0 {
		return
	}
	front, back := pan.Keep(len(p))
	// ASCII.
	for i := 0; ; {
		j := bytes.Index(b[i:], p)
		if j < 0 {
			break
		}
		for k := front; k < len(p)-back; k++ {
			b[i+j+k] = '9'
		}
		i += j + len(p)
	}
	// BCD of the even-length prefix; the masked span lies inside it.
	even := len(p) &^ 1
	bcd := make([]byte, even/2)
	for i := 0; i < even; i += 2 {
		bcd[i/2] = (p[i]-'0')<<4 | (p[i+1] - '0')
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], bcd)
		if j < 0 {
			break
		}
		w := b[i+j : i+j+len(bcd)]
		for k := front; k < len(p)-back && k < even; k++ {
			setNib(w, k, 9)
		}
		i += j + len(bcd)
	}
}
