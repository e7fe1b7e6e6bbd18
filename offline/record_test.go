package offline

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestEntryRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
	}{
		{"minimal", Entry{ID: "a", Kind: KindAdvice, State: StatePending}},
		{"full", Entry{ID: "tx-1", Kind: KindReversal, State: StateFailed, Created: time.Unix(1700000000, 5).UTC(),
			NextAttempt: time.Unix(1700000100, 0).UTC(), Attempts: 7, Repeat: true, Declined: true, Reason: "format error",
			Amount: 123456789, Currency: "978", CardKey: bytes.Repeat([]byte{9}, 32), Seq: 1 << 40, Finished: time.Unix(1700000200, 0).UTC()}},
		{"negative amount survives", Entry{ID: "n", Kind: "other", State: StateDone, Amount: -5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEntry(encodeEntry(&tc.e))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.e) {
				t.Errorf("got %+v\nwant %+v", got, tc.e)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encodeEntry(&Entry{ID: "abc", Kind: KindAdvice, State: StatePending, Reason: "r", Currency: "978"})
	tests := []struct {
		name   string
		decode func([]byte) error
		in     []byte
		offset int
	}{
		{"entry empty", decodeEntryErr, nil, 0},
		{"entry version", decodeEntryErr, []byte{9}, 0},
		{"entry truncated id", decodeEntryErr, []byte{1, 5, 'a'}, 1},
		{"entry huge length", decodeEntryErr, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, 1},
		{"entry trailing", decodeEntryErr, append(append([]byte{}, good...), 0), len(good)},
		{"entry bad state", decodeEntryErr, []byte{1, 1, 'a', 1, 'x', 77}, 5},
		{"entry empty id", decodeEntryErr, encodeEntry(&Entry{State: StatePending}), 1},
		{"entry bad flags", decodeEntryErr, bytes.Replace(encodeEntry(&Entry{ID: "a", State: StatePending, Attempts: 3}), []byte{3, 0}, []byte{3, 0x80}, 1), 8},
		{"payload short nonce", decodeSealedErr, []byte{1, 1, 'k', 2, 1, 2}, 3},
		{"payload no tag", decodeSealedErr, append(encodeSealed(sealed{KeyID: "k", Nonce: make([]byte, 12)}), 1, 2, 3), 16},
		{"counter version", decodeCounterErr, []byte{2, 0, 0}, 0},
		{"counter truncated", decodeCounterErr, []byte{1, 2}, 2},
		// Fuzz crasher: an overlong varint was accepted (non-canonical record).
		{"counter overlong varint", decodeCounterErr, []byte("\x01\xff\x000"), 1},
		{"entry overlong attempts", decodeEntryErr, []byte{1, 1, 'a', 0, 1, 0, 0, 0x80, 0x00}, 7},
		{"key file no key", parseKeyringErr, []byte("# only a comment\n"), 0},
		{"key file bad hex", parseKeyringErr, []byte("k1 zz\n"), 0},
		{"key file id mismatch", parseKeyringErr, []byte("kdeadbeef0000 " + string(bytes.Repeat([]byte("ab"), 32)) + "\n"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.in)
			var re *RecordError
			if !errors.As(err, &re) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want *RecordError", err)
			}
			if re.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", re.Offset, tc.offset, err)
			}
		})
	}
}

func decodeEntryErr(b []byte) error   { _, err := decodeEntry(b); return err }
func decodeSealedErr(b []byte) error  { _, err := decodeSealed(b); return err }
func decodeCounterErr(b []byte) error { _, err := decodeCounter(b); return err }
func parseKeyringErr(b []byte) error  { _, err := parseKeyring(b); return err }

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&Entry{ID: "tx-1", Kind: KindAdvice, State: StateInFlight, Amount: 100, Currency: "978", CardKey: []byte{1, 2}}))
	f.Add([]byte{1, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		again, err := decodeEntry(encodeEntry(&e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("re-encoding changed the entry: %v\n%+v\n%+v", err, e, again)
		}
	})
}

func FuzzDecodeSealed(f *testing.F) {
	f.Add(encodeSealed(sealed{KeyID: "k0", Nonce: make([]byte, 12), Box: make([]byte, 20)}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSealed(b)
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if len(s.Nonce) != gcmNonceLen || len(s.Box) < 16 {
			t.Fatalf("accepted nonce %d box %d", len(s.Nonce), len(s.Box))
		}
		// A fuzzed payload must never open under a real key.
		k := &keyring{}
		k.add(bytes.Repeat([]byte{7}, 32))
		s.KeyID = k.current()
		if _, err := k.open("x", s); err == nil {
			t.Fatal("forged payload authenticated")
		}
	})
}

func FuzzDecodeCounter(f *testing.F) {
	f.Add(encodeCounter(counter{Count: 3, Amount: 1000}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCounter(b)
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if !bytes.Equal(encodeCounter(c), b) {
			t.Fatalf("non-canonical counter accepted")
		}
	})
}

func FuzzParseKeyring(f *testing.F) {
	k := &keyring{}
	k.add(bytes.Repeat([]byte{1}, 32))
	k.add(bytes.Repeat([]byte{2}, 32))
	f.Add(k.marshal())
	f.Add([]byte("# x\n\nk1 00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := parseKeyring(b)
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			for _, line := range bytes.Split(b, []byte("\n")) {
				if f := bytes.Fields(line); len(f) == 2 && len(f[1]) == 64 && bytes.Contains([]byte(err.Error()), f[1]) {
					t.Fatal("error quotes key material")
				}
			}
			return
		}
		k2, err := parseKeyring(k.marshal())
		if err != nil || !reflect.DeepEqual(k2.ids, k.ids) {
			t.Fatalf("marshal/parse lost keys: %v", err)
		}
	})
}
