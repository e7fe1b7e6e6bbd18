package tlv

// EncodeN encodes v as n bytes of format n: packed BCD, right-justified,
// zero-padded on the left (amounts, dates, currency and country codes).
// Digits that do not fit are dropped from the left.
func EncodeN(v uint64, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v%10) | byte(v/10%10)<<4
		v /= 100
	}
	return b
}

// DecodeN decodes format n; ok is false on a nibble above 9.
func DecodeN(b []byte) (v uint64, ok bool) {
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		v = v*100 + uint64(hi)*10 + uint64(lo)
	}
	return v, true
}
