package qr

// crc16 is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no
// final XOR), the checksum EMVCo MPM puts in ID 63. The standard library has
// no CRC-16; the table-less form is a few lines and fast enough for payloads
// of at most 512 bytes.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x) << 8
		for i := 0; i < 8; i++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

const hexUpper = "0123456789ABCDEF"

// crcString is the 4 upper-case hex digits of crc16(b).
func crcString(b []byte) string {
	c := crc16(b)
	return string([]byte{hexUpper[c>>12], hexUpper[c>>8&0xF], hexUpper[c>>4&0xF], hexUpper[c&0xF]})
}
