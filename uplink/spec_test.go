package uplink

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDefaultSpecGolden keeps testdata/spec-default.json (the file an
// acquirer's variant starts from) in step with DefaultSpec.
func TestDefaultSpecGolden(t *testing.T) {
	got, err := SpecJSON(DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "spec-default.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("DefaultSpec differs from testdata/spec-default.json (run go test -run Golden -update)")
	}
}

// TestSpecFileVariant loads a variant (field 55 with a binary 2-byte
// length, a longer transaction id) from JSON: no code change, and a message
// packed with it differs on the wire but decodes the same.
func TestSpecFileVariant(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "spec-default.json"))
	if err != nil {
		t.Fatal(err)
	}
	variant := strings.Replace(string(raw), `"prefix": "ASCII.LLL"`, `"prefix": "Binary.LL"`, 1)
	if variant == string(raw) {
		t.Fatal("variant edit did not apply")
	}
	path := filepath.Join(t.TempDir(), "variant.json")
	os.WriteFile(path, []byte(variant), 0o644)
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	cv, _ := NewCodec(spec)
	cd, _ := NewCodec(nil)
	m := sampleMessage(t)
	bv, err := cv.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	bd, _ := cd.Encode(m)
	if bytes.Equal(bv, bd) {
		t.Fatal("variant encodes like the default")
	}
	got, err := cv.Decode(bv)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != m.String() {
		t.Fatalf("variant decoded %s, want %s", got, m)
	}
	if _, err := cd.Decode(bv); err == nil {
		t.Fatal("default codec accepted the variant's bytes")
	}
}

func TestSpecErrors(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "spec-default.json"))
	tests := []struct {
		name      string
		json      string
		wantField int
	}{
		{name: "not JSON", json: "{", wantField: -1},
		{name: "missing field 39", json: strings.Replace(string(raw), `"39"`, `"139"`, 1), wantField: FieldResponseCode},
		{name: "unknown prefix", json: strings.Replace(string(raw), `"ASCII.LLL"`, `"ASCII.LLLLLLLL"`, 1), wantField: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tt.json))
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) || se.Field != tt.wantField {
				t.Fatalf("err = %v, want *SpecError field %d", err, tt.wantField)
			}
		})
	}
	if _, err := LoadSpec(filepath.Join(t.TempDir(), "nope.json")); !errors.Is(err, ErrSpec) {
		t.Fatalf("missing file: %v", err)
	}
}
