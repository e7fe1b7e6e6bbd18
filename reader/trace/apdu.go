package trace

import (
	"encoding/hex"
	"fmt"
	"posagent/reader"
	"strings"

	"posagent/emv/tlv"
)

// header returns CLA INS P1 P2 as hex, the only part of a command that is
// safe to show anywhere.
func header(cmd []byte) string {
	if cmd == nil {
		return "*"
	}
	if len(cmd) > 4 {
		cmd = cmd[:4]
	}
	return strings.ToUpper(hex.EncodeToString(cmd))
}

// Describe names a command APDU for people: the command's name and the
// parameters that identify it (SELECT name, record number, GET DATA tag).
// It never shows command data other than a SELECT's name, so it is safe for
// logs. A nil command (recorded as "> *") is "any command".
func Describe(cmd []byte) string {
	if cmd == nil {
		return "any command (not recorded)"
	}
	if len(cmd) < 4 {
		return fmt.Sprintf("malformed command of %d bytes", len(cmd))
	}
	cla, ins, p1, p2 := cmd[0], cmd[1], cmd[2], cmd[3]
	a, err := reader.ParseCommand(cmd)
	switch ins {
	case 0xA4:
		if err != nil || len(a.Data) == 0 {
			return fmt.Sprintf("SELECT P1P2 %02X%02X", p1, p2)
		}
		s := "SELECT " + strings.ToUpper(hex.EncodeToString(a.Data))
		if printableName(a.Data) {
			s += fmt.Sprintf(" %q", string(a.Data))
		}
		if p2&0x02 != 0 {
			s += " (next)"
		}
		return s
	case 0xB2:
		if p2&0x07 == 0x04 {
			return fmt.Sprintf("READ RECORD SFI %d record %d", p2>>3, p1)
		}
		return fmt.Sprintf("READ RECORD P1P2 %02X%02X", p1, p2)
	case 0xA8:
		return "GET PROCESSING OPTIONS"
	case 0xCA, 0xCB:
		t := tlv.Tag(uint32(p1)<<8 | uint32(p2))
		if p1 == 0 {
			t = tlv.Tag(p2)
		}
		if name := tlv.Lookup(t).Name; name != "unknown" {
			return fmt.Sprintf("GET DATA %02X%02X (%s)", p1, p2, name)
		}
		return fmt.Sprintf("GET DATA %02X%02X", p1, p2)
	case 0xC0:
		return "GET RESPONSE"
	case 0x0C:
		if cla == 0x00 {
			return "GET RESPONSE (INS 0C)"
		}
	case 0xAE:
		kind := map[byte]string{0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}[p1&0xC0]
		if kind == "" {
			kind = fmt.Sprintf("P1 %02X", p1)
		}
		if p1&0x10 != 0 {
			kind += " with CDA"
		}
		return "GENERATE AC " + kind
	case 0x88:
		return "INTERNAL AUTHENTICATE"
	case 0x82:
		return "EXTERNAL AUTHENTICATE"
	case 0x84:
		return "GET CHALLENGE"
	case 0x20:
		return "VERIFY"
	case 0x24:
		return "CHANGE REFERENCE DATA"
	case 0x2A:
		if p1 == 0x8E && p2 == 0x80 {
			return "COMPUTE CRYPTOGRAPHIC CHECKSUM"
		}
	case 0xB0:
		return fmt.Sprintf("READ BINARY P1P2 %02X%02X", p1, p2)
	case 0x1E:
		return "APPLICATION BLOCK"
	case 0x18:
		return "APPLICATION UNBLOCK"
	case 0x16:
		return "CARD BLOCK"
	case 0xDA, 0xDB:
		return fmt.Sprintf("PUT DATA %02X%02X", p1, p2)
	}
	return fmt.Sprintf("command %02X %02X %02X %02X", cla, ins, p1, p2)
}

func printableName(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return len(b) > 0
}
