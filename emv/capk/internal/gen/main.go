// Command gen builds emv/capk/keys.txt from the reference CA public key list
// (ca-public-keys.txt beside this file, a copy of
// /work/shared/reference/ca-public-keys.txt: binaryfoo/emv-bertlv, MIT) and
// the posagent software-card test CA keys in emv/cardsim/perso/testkeys.
//
// Run from anywhere inside the module:
//
//	go generate ./emv/capk        (or: go run ./emv/capk/internal/gen)
//
// What it does to the reference list, every change recorded in the header of
// keys.txt:
//   - every key's SHA-1 checksum (RID|index|modulus|exponent) is verified
//     where the list has one; when it matches only another exponent (03,
//     010001, 02) the exponent is corrected; a checksum matching nothing is
//     an error. Keys without a checksum get a computed one.
//   - the bit length column, where present, must equal the modulus length.
//   - keys sharing a RID and index are all kept; only byte-identical
//     duplicates (same RID, index, modulus, exponent) are dropped.
//   - scheme test keys are flagged test (see testKeys).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// testKeys are the scheme test CA keys (not for live money), per openemv
// emv-utils' list: RID -> indexes; an empty set means every index.
var testKeys = map[string]map[string]bool{
	"A000000003": set("92", "94", "95", "99"),
	"A000000004": set("EF", "F1", "F3", "F4", "F5", "F8", "FA", "FE"),
	"A000000025": set("04", "65", "A1", "B9", "C8", "C9", "CA"),
	"B012345678": {},
}

func set(s ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func isTest(rid, idx string) bool {
	s, ok := testKeys[rid]
	return ok && (len(s) == 0 || s[idx])
}

// entry is one output line.
type entry struct {
	rid, idx, exp, scheme, mod string
	test                       bool
}

func (e entry) checksum() string {
	return checksum(e.rid, e.idx, e.mod, e.exp)
}

func checksum(rid, idx, mod, exp string) string {
	b, _ := hex.DecodeString(rid + idx + mod + exp)
	s := sha1.Sum(b)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func main() {
	out := flag.String("o", "", "output file (default <module>/emv/capk/keys.txt)")
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		fail(err)
	}
	if *out == "" {
		*out = filepath.Join(root, "emv", "capk", "keys.txt")
	}
	data, err := build(root)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "capk gen:", err)
	os.Exit(1)
}

// moduleRoot walks up from the working directory to the posagent go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module posagent")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("posagent go.mod not found above the working directory")
		}
		dir = parent
	}
}

// build returns the content of keys.txt.
func build(root string) ([]byte, error) {
	src, err := os.Open(filepath.Join(root, "emv", "capk", "internal", "gen", "ca-public-keys.txt"))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	ref, notes, err := convert(src)
	if err != nil {
		return nil, err
	}
	own, err := testCAs(filepath.Join(root, "emv", "cardsim", "perso", "testkeys"))
	if err != nil {
		return nil, err
	}
	return render(append(ref, own...), notes), nil
}

// convert reads the reference list and returns its keys plus notes on every
// change made.
func convert(r io.Reader) ([]entry, []string, error) {
	var (
		out   []entry
		notes []string
		seen  = map[string]int{} // rid|idx|mod|exp -> source line
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) < 5 || len(f) > 7 {
			return nil, nil, fmt.Errorf("reference line %d: %d fields", line, len(f))
		}
		e := entry{scheme: strings.TrimSpace(f[0]), exp: strings.ToUpper(f[1]), idx: strings.ToUpper(f[2]),
			rid: strings.ToUpper(f[3]), mod: strings.ToUpper(f[4])}
		for name, v := range map[string]string{"exponent": e.exp, "index": e.idx, "RID": e.rid, "modulus": e.mod} {
			if _, err := hex.DecodeString(v); err != nil || v == "" {
				return nil, nil, fmt.Errorf("reference line %d: %s %q is not hex", line, name, v)
			}
		}
		if len(e.rid) != 10 || len(e.idx) != 2 {
			return nil, nil, fmt.Errorf("reference line %d: bad RID or index", line)
		}
		if len(f) >= 6 && f[5] != "" && f[5] != fmt.Sprint(len(e.mod)*4) {
			return nil, nil, fmt.Errorf("reference line %d: %s bits but modulus has %d", line, f[5], len(e.mod)*4)
		}
		name := e.rid + "/" + e.idx
		if len(f) == 7 && f[6] != "" {
			want := strings.ToUpper(f[6])
			if e.checksum() != want {
				fixed := false
				for _, alt := range []string{"03", "010001", "02"} {
					if alt != e.exp && checksum(e.rid, e.idx, e.mod, alt) == want {
						notes = append(notes, fmt.Sprintf("reference line %d %s %d-bit: exponent %s -> %s (the published checksum %s matches %s)",
							line, name, len(e.mod)*4, e.exp, alt, want, alt))
						e.exp = alt
						fixed = true
						break
					}
				}
				if !fixed {
					return nil, nil, fmt.Errorf("reference line %d %s: checksum %s matches no exponent", line, name, want)
				}
			}
		} else {
			notes = append(notes, fmt.Sprintf("reference line %d %s %d-bit: no checksum in the source, computed", line, name, len(e.mod)*4))
		}
		e.test = isTest(e.rid, e.idx)
		k := e.rid + "|" + e.idx + "|" + e.mod + "|" + e.exp
		if first, dup := seen[k]; dup {
			notes = append(notes, fmt.Sprintf("reference line %d %s: identical to line %d, dropped", line, name, first))
			continue
		}
		seen[k] = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return out, notes, nil
}

// testCAs reads the posagent test CA keys (*-ca.pem with RID and Index PEM
// headers) and returns their public halves, flagged test.
func testCAs(dir string) ([]entry, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*-ca.pem"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test CA keys in %s", dir)
	}
	sort.Strings(files)
	var out []entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM block", f)
		}
		key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rid, idx := strings.ToUpper(blk.Headers["RID"]), strings.ToUpper(blk.Headers["Index"])
		if len(rid) != 10 || len(idx) != 2 {
			return nil, fmt.Errorf("%s: RID/Index PEM headers missing", f)
		}
		exp := fmt.Sprintf("%X", key.E)
		if len(exp)%2 == 1 {
			exp = "0" + exp
		}
		out = append(out, entry{rid: rid, idx: idx, exp: exp, scheme: "posagent-test", test: true,
			mod: strings.ToUpper(hex.EncodeToString(key.N.Bytes()))})
	}
	return out, nil
}

func render(keys []entry, notes []string) []byte {
	var b bytes.Buffer
	b.WriteString(`# posagent EMV certification authority public keys.
# GENERATED by emv/capk/internal/gen (go generate ./emv/capk); do not edit by hand.
# Source: emv/capk/internal/gen/ca-public-keys.txt = binaryfoo/emv-bertlv
#   src/main/resources/ca-public-keys.txt (commit dda526e6b9d6), MIT License,
#   Copyright (c) 2014 Will Currie; plus the posagent software-card test CAs
#   from emv/cardsim/perso/testkeys (scheme posagent-test).
#
# One key a line, seven tab-separated fields:
#   RID  index  exponent  live|test  checksum  scheme  modulus
# checksum = SHA-1(RID|index|modulus|exponent), verified when the list is parsed.
# Several keys may share a RID and index: all are candidates.
# test = scheme or posagent test key, used only when test keys are allowed:
#   A000000003 92 94 95 99; A000000004 EF F1 F3 F4 F5 F8 FA FE;
#   A000000025 04 65 A1 B9 C8 C9 CA; every key of RID B012345678; posagent-test.
#
# Changes to the source:
`)
	for _, n := range notes {
		b.WriteString("#   " + n + "\n")
	}
	b.WriteString("#\n")
	for _, k := range keys {
		status := "live"
		if k.test {
			status = "test"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.rid, k.idx, k.exp, status, k.checksum(), k.scheme, k.mod)
	}
	return b.Bytes()
}
