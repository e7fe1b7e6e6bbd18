package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keys.txt must be exactly what the generator builds from its inputs.
func TestKeysTxtUpToDate(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := build(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "emv", "capk", "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("emv/capk/keys.txt is stale: run go generate ./emv/capk")
	}
}

// Real A000000004 FB (1024-bit) with the wrong exponent 02 and its
// published checksum, which matches exponent 03.
const fbModulus = "A9548DFB398B48123FAF41E6CFA4AE1E2352B518AB4BCEFECDB0B3EDEC090287D88B12259F361C1CC088E5F066494417E8EE8BBF8991E2B32FF16F994697842B3D6CB37A2BB5742A440B6356C62AA33DB3C455E59EDDF7864701D03A5B83EE9E9BD83AB93302AC2DFE63E66120B051CF081F56326A71303D952BB336FF12610D"

func TestConvert(t *testing.T) {
	line := func(exp, idx, rid, sum string) string {
		return "MasterCard\t" + exp + "\t" + idx + "\t" + rid + "\t" + fbModulus + "\t1024\t" + sum
	}
	goodSum := "6C7289632919ABEE6E1163D7E6BF693FD88EBD35"
	cases := []struct {
		name      string
		in        string
		wantExp   []string
		wantTest  []bool
		wantNote  string
		wantError string
	}{
		{"exponent fixed by checksum", line("02", "FB", "A000000004", goodSum), []string{"03"}, []bool{false},
			"exponent 02 -> 03", ""},
		{"correct exponent untouched", line("03", "FB", "A000000004", goodSum), []string{"03"}, []bool{false}, "", ""},
		{"checksum matching nothing", line("03", "FB", "A000000004", strings.Repeat("AB", 20)), nil, nil, "", "matches no exponent"},
		{"no checksum computed", "X\t03\tFB\tA000000004\t" + fbModulus, []string{"03"}, []bool{false}, "no checksum in the source, computed", ""},
		{"identical duplicate dropped", line("03", "FB", "A000000004", goodSum) + "\n" + line("02", "FB", "A000000004", goodSum),
			[]string{"03"}, []bool{false}, "identical to line 1, dropped", ""},
		{"test RID flagged", "X\t03\t01\tB012345678\t" + fbModulus, []string{"03"}, []bool{true}, "computed", ""},
		{"test index flagged", "X\t03\tFE\tA000000004\t" + fbModulus, []string{"03"}, []bool{true}, "computed", ""},
		{"bits disagree", "X\t03\tFB\tA000000004\t" + fbModulus + "\t1152", nil, nil, "", "bits but modulus has 1024"},
		{"bad hex", "X\t0Z\tFB\tA000000004\t" + fbModulus, nil, nil, "", "not hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, notes, err := convert(strings.NewReader(c.in))
			if c.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantError) {
					t.Fatalf("err = %v, want %q", err, c.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.wantExp) {
				t.Fatalf("%d keys, want %d", len(got), len(c.wantExp))
			}
			for i, e := range got {
				if e.exp != c.wantExp[i] || e.test != c.wantTest[i] {
					t.Errorf("key %d: exp %s test %v", i, e.exp, e.test)
				}
			}
			joined := strings.Join(notes, "\n")
			if c.wantNote != "" && !strings.Contains(joined, c.wantNote) {
				t.Errorf("notes %q, want %q", joined, c.wantNote)
			}
			if c.wantNote == "" && joined != "" {
				t.Errorf("unexpected notes %q", joined)
			}
		})
	}
}
