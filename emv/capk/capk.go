package capk

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

//go:generate go run ./internal/gen

//go:embed keys.txt
var embedded []byte

// MaxModulusLen is the largest CA public key modulus EMV allows (1984 bits).
// Parse accepts up to 2048 bits because the reference list holds one such
// test key; oda refuses anything above MaxModulusLen.
const MaxModulusLen = 248

// maxParseModulusLen bounds what Parse accepts.
const maxParseModulusLen = 256

// Key is one certification authority public key.
type Key struct {
	RID      [5]byte
	Index    byte
	Modulus  []byte
	Exponent []byte
	Scheme   string
	Test     bool
}

// String describes the key without its modulus, e.g.
// "A000000004/05 1408-bit (live)".
func (k Key) String() string {
	status := "live"
	if k.Test {
		status = "test"
	}
	return fmt.Sprintf("%X/%02X %d-bit (%s)", k.RID[:], k.Index, len(k.Modulus)*8, status)
}

// Checksum is the EMV CA public key check sum: SHA-1 over
// RID | index | modulus | exponent.
func (k Key) Checksum() [20]byte {
	h := sha1.New()
	h.Write(k.RID[:])
	h.Write([]byte{k.Index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	var sum [20]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func (k Key) clone() Key {
	k.Modulus = slices.Clone(k.Modulus)
	k.Exponent = slices.Clone(k.Exponent)
	return k
}

// List is a set of CA public keys. Several keys may share one RID and index
// (the reference list has such pairs); all are kept. A List is safe for
// concurrent use. The zero value is an empty list.
type List struct {
	mu   sync.RWMutex
	keys []Key
}

// Add appends k (copied) to the list, e.g. a test CA key.
func (l *List) Add(k Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, k.clone())
}

// Len is the number of keys.
func (l *List) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.keys)
}

// Keys returns a copy of every key in list order.
func (l *List) Keys() []Key {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Key, len(l.keys))
	for i, k := range l.keys {
		out[i] = k.clone()
	}
	return out
}

// Candidates returns every key for rid (5 bytes) and index: live keys first,
// then, only when allowTest is set, test keys; each group in list order.
// The caller tries each (the certificate length picks among them).
func (l *List) Candidates(rid []byte, index byte, allowTest bool) []Key {
	if len(rid) != 5 {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var live, test []Key
	for _, k := range l.keys {
		if k.Index != index || !bytes.Equal(k.RID[:], rid) {
			continue
		}
		if k.Test {
			if allowTest {
				test = append(test, k.clone())
			}
			continue
		}
		live = append(live, k.clone())
	}
	return append(live, test...)
}

// Errors reported by Parse, wrapped in a *ParseError.
var (
	ErrFields   = errors.New("wrong number of fields")
	ErrHex      = errors.New("not hexadecimal")
	ErrRID      = errors.New("RID is not 5 bytes")
	ErrIndex    = errors.New("index is not 1 byte")
	ErrExponent = errors.New("exponent is not 1 to 3 bytes")
	ErrModulus  = errors.New("modulus length out of range")
	ErrStatus   = errors.New("status is neither live nor test")
	ErrChecksum = errors.New("checksum does not match SHA-1(RID|index|modulus|exponent)")
)

// ParseError reports a bad line of a key list.
type ParseError struct {
	Line  int    // 1-based
	Field string // "RID", "modulus", ...
	Err   error  // one of the Err* values above, or the reader's error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("capk: line %d: %s: %v", e.Line, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a key list in the format of keys.txt: one key a line, seven
// tab-separated fields
//
//	RID  index  exponent  live|test  checksum  scheme  modulus
//
// all hexadecimal except status and scheme; the checksum (SHA-1 over
// RID|index|modulus|exponent) must match. Blank lines and lines starting
// with '#' are ignored.
func Parse(r io.Reader) (*List, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	l := &List{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, err := parseLine(text)
		if err != nil {
			err.Line = line
			return nil, err
		}
		l.keys = append(l.keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Line: line + 1, Field: "line", Err: err}
	}
	return l, nil
}

func parseLine(text string) (Key, *ParseError) {
	f := strings.Split(text, "\t")
	if len(f) != 7 {
		return Key{}, &ParseError{Field: "line", Err: ErrFields}
	}
	var k Key
	rid, err := hex.DecodeString(f[0])
	if err != nil {
		return Key{}, &ParseError{Field: "RID", Err: ErrHex}
	}
	if len(rid) != 5 {
		return Key{}, &ParseError{Field: "RID", Err: ErrRID}
	}
	copy(k.RID[:], rid)
	idx, err := hex.DecodeString(f[1])
	if err != nil {
		return Key{}, &ParseError{Field: "index", Err: ErrHex}
	}
	if len(idx) != 1 {
		return Key{}, &ParseError{Field: "index", Err: ErrIndex}
	}
	k.Index = idx[0]
	if k.Exponent, err = hex.DecodeString(f[2]); err != nil {
		return Key{}, &ParseError{Field: "exponent", Err: ErrHex}
	}
	if len(k.Exponent) < 1 || len(k.Exponent) > 3 {
		return Key{}, &ParseError{Field: "exponent", Err: ErrExponent}
	}
	switch f[3] {
	case "live":
	case "test":
		k.Test = true
	default:
		return Key{}, &ParseError{Field: "status", Err: ErrStatus}
	}
	sum, err := hex.DecodeString(f[4])
	if err != nil {
		return Key{}, &ParseError{Field: "checksum", Err: ErrHex}
	}
	k.Scheme = f[5]
	if k.Modulus, err = hex.DecodeString(f[6]); err != nil {
		return Key{}, &ParseError{Field: "modulus", Err: ErrHex}
	}
	if len(k.Modulus) < 64 || len(k.Modulus) > maxParseModulusLen || k.Modulus[0] == 0 {
		return Key{}, &ParseError{Field: "modulus", Err: ErrModulus}
	}
	want := k.Checksum()
	if !bytes.Equal(sum, want[:]) {
		return Key{}, &ParseError{Field: "checksum", Err: ErrChecksum}
	}
	return k, nil
}

var defaultList = sync.OnceValue(func() *List {
	l, err := Parse(bytes.NewReader(embedded))
	if err != nil {
		// keys.txt is generated and checked by the package tests.
		panic("capk: embedded keys.txt: " + err.Error())
	}
	return l
})

// Default returns the embedded key list (keys.txt, parsed once): the
// reference list of scheme keys plus the posagent software-card test CAs.
// Each call returns a new List, so Add on it does not affect other callers.
func Default() *List {
	d := defaultList()
	d.mu.RLock()
	defer d.mu.RUnlock()
	return &List{keys: slices.Clone(d.keys)}
}
