package qr

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzMPM: decoding never panics; a payload that decodes re-encodes to
// one that decodes to the same objects; the report always marshals.
func FuzzMPM(f *testing.F) {
	for _, v := range nationalVectors {
		f.Add(v.payload)
	}
	f.Add("0002016304ABCD")
	f.Add(withCRC("00020164220002ZH0112最佳运输6304"))
	for _, c := range mpmCrashers {
		f.Add(c.payload)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkMPM(t, s)
	})
}

func checkMPM(t *testing.T, s string) {
	m, err := DecodeMPM(s)
	if m != nil {
		_ = m.Check()
		_, _, _, _ = m.Amount()
		if err == nil {
			enc, err := m.Encode()
			if err != nil {
				t.Fatalf("decoded %q but cannot re-encode: %v", s, err)
			}
			m2, err := DecodeMPM(enc)
			if err != nil {
				t.Fatalf("re-encoded %q does not decode: %v", enc, err)
			}
			if !reflect.DeepEqual(m.Fields[:len(m.Fields)-1], m2.Fields[:len(m2.Fields)-1]) {
				t.Fatalf("round trip changed the objects:\n%q\n%q", s, enc)
			}
		}
	}
	if _, err := json.Marshal(Inspect(s, InspectOptions{Strict: true})); err != nil {
		t.Fatal(err)
	}
}

// FuzzCPM: decoding arbitrary bytes never panics and the report marshals.
func FuzzCPM(f *testing.F) {
	f.Add(cpmVector())
	f.Add([]byte{0x85, 0x05, 'C', 'P', 'V', '0', '1', 0x61, 0x00})
	for _, c := range cpmCrashers {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCPM(t, b)
	})
}

func checkCPM(t *testing.T, b []byte) {
	c, err := DecodeCPMBytes(b)
	if err == nil && len(c.Applications) == 0 {
		t.Fatal("decoded a CPM without applications")
	}
	if _, err := json.Marshal(Inspect(base64.StdEncoding.EncodeToString(b), InspectOptions{})); err != nil {
		t.Fatal(err)
	}
}

// Crashers and near misses, kept as named cases. Fuzzing (go test -fuzz,
// a few minutes each) found no panic; these are the inputs that tripped
// earlier drafts: lengths counted in bytes, CRC alone, invalid UTF-8 in a
// template, a CRC template holding sub-objects.
var mpmCrashers = []struct {
	name    string
	payload string
}{
	{"crc-only", "6304FFFF"},
	{"crc-of-empty", withCRC("6304")},
	{"four-byte-rune-in-64", withCRC("0002016410000" + "2ZH0102😀😀6304")},
	{"invalid-utf8-in-template", "00020162050501\xc36304ABCD"},
	{"template-63", withCRC("0002016304")[:10] + "63080004ABCD"},
	{"max-length", withCRC("000201" + "5999" + string(make([]byte, 99)) + "6304")},
}

var cpmCrashers = []struct {
	name string
	raw  []byte
}{
	{"pfi-only", []byte{0x85, 0x05, 'C', 'P', 'V', '0', '1'}},
	{"empty-61", []byte{0x85, 0x05, 'C', 'P', 'V', '0', '1', 0x61, 0x00}},
	{"nested-63-garbage", []byte{0x85, 0x05, 'C', 'P', 'V', '0', '1', 0x61, 0x04, 0x63, 0x02, 0x9F, 0xFF}},
	{"padding-only", []byte{0x00, 0xFF, 0x00}},
	{"long-length-form", []byte{0x85, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}},
}

func TestFuzzCrashers(t *testing.T) {
	for _, c := range mpmCrashers {
		t.Run("mpm/"+c.name, func(t *testing.T) { checkMPM(t, c.payload) })
	}
	for _, c := range cpmCrashers {
		t.Run("cpm/"+c.name, func(t *testing.T) { checkCPM(t, c.raw) })
	}
}
