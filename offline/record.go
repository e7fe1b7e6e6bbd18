package offline

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// On-disk record formats. All integers are varints; strings and byte slices
// are a uvarint length and the bytes. The first byte is the format version.
const (
	entryRecordV1   = 1
	payloadRecordV1 = 1
	counterRecordV1 = 1

	maxFieldLen = 1 << 20 // no field of a record is longer than 1 MiB
	gcmNonceLen = 12
)

const (
	flagRepeat   = 1 << 0
	flagDeclined = 1 << 1
	knownFlags   = flagRepeat | flagDeclined
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// encodeEntry encodes everything of e except the payload and key id.
func encodeEntry(e *Entry) []byte {
	b := make([]byte, 0, 64+len(e.ID)+len(e.Reason)+len(e.CardKey))
	b = append(b, entryRecordV1)
	b = appendString(b, e.ID)
	b = appendString(b, string(e.Kind))
	b = append(b, stateCode(e.State))
	b = appendTime(b, e.Created)
	b = appendTime(b, e.NextAttempt)
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	var flags byte
	if e.Repeat {
		flags |= flagRepeat
	}
	if e.Declined {
		flags |= flagDeclined
	}
	b = append(b, flags)
	b = appendString(b, e.Reason)
	b = binary.AppendVarint(b, e.Amount)
	b = appendString(b, e.Currency)
	b = appendString(b, string(e.CardKey))
	b = binary.AppendUvarint(b, e.Seq)
	b = appendTime(b, e.Finished)
	return b
}

// reader decodes a record with bounds checks; the first error sticks.
type reader struct {
	rec  string
	b    []byte
	off  int
	last int // start of the last length-prefixed field
	err  *RecordError
}

func (r *reader) fail(detail string) {
	if r.err == nil {
		r.err = &RecordError{Record: r.rec, Offset: r.off, Detail: detail}
	}
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated before " + what)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad or truncated " + what)
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		r.fail("overlong " + what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad or truncated " + what)
		return 0
	}
	if n != len(binary.AppendVarint(nil, v)) {
		r.fail("overlong " + what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) bytes(what string) []byte {
	start := r.off
	r.last = start
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > maxFieldLen || n > uint64(len(r.b)-r.off) {
		r.off = start
		r.fail(fmt.Sprintf("%s length %d exceeds record", what, n))
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *reader) string(what string) string {
	v := r.bytes(what)
	if r.err == nil && !utf8.Valid(v) {
		r.fail(what + " is not UTF-8")
	}
	return string(v)
}

func (r *reader) time(what string) time.Time {
	v := r.varint(what)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (r *reader) end() {
	if r.err == nil && r.off != len(r.b) {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)-r.off))
	}
}

// decodeEntry is the inverse of encodeEntry. It returns a *RecordError for
// bytes that are not a valid entry record.
func decodeEntry(b []byte) (Entry, error) {
	r := &reader{rec: "entry", b: b}
	var e Entry
	if v := r.byte("version"); r.err == nil && v != entryRecordV1 {
		r.off--
		r.fail(fmt.Sprintf("unknown version %d", v))
	}
	e.ID = r.string("id")
	e.Kind = Kind(r.string("kind"))
	sc := r.byte("state")
	if r.err == nil {
		if int(sc) >= len(stateCodes) {
			r.off--
			r.fail(fmt.Sprintf("unknown state code %d", sc))
		} else {
			e.State = stateCodes[sc]
		}
	}
	e.Created = r.time("created")
	e.NextAttempt = r.time("next attempt")
	att := r.uvarint("attempts")
	if r.err == nil && att > 1<<31 {
		r.fail("attempts out of range")
	}
	e.Attempts = int(att)
	flags := r.byte("flags")
	if r.err == nil && flags&^knownFlags != 0 {
		r.off--
		r.fail(fmt.Sprintf("unknown flags %#x", flags))
	}
	e.Repeat = flags&flagRepeat != 0
	e.Declined = flags&flagDeclined != 0
	e.Reason = r.string("reason")
	e.Amount = r.varint("amount")
	e.Currency = r.string("currency")
	if ck := r.bytes("card key"); len(ck) > 0 {
		e.CardKey = append([]byte(nil), ck...)
	}
	e.Seq = r.uvarint("seq")
	e.Finished = r.time("finished")
	r.end()
	if r.err != nil {
		return Entry{}, r.err
	}
	if e.ID == "" {
		return Entry{}, &RecordError{Record: "entry", Offset: 1, Detail: "empty id"}
	}
	return e, nil
}

// sealed is an encrypted payload as stored.
type sealed struct {
	KeyID string
	Nonce []byte
	Box   []byte // ciphertext with GCM tag
}

func encodeSealed(s sealed) []byte {
	b := make([]byte, 0, 4+len(s.KeyID)+len(s.Nonce)+len(s.Box))
	b = append(b, payloadRecordV1)
	b = appendString(b, s.KeyID)
	b = appendString(b, string(s.Nonce))
	return append(b, s.Box...)
}

// decodeSealed parses a stored payload record; the result aliases b.
func decodeSealed(b []byte) (sealed, error) {
	r := &reader{rec: "payload", b: b}
	if v := r.byte("version"); r.err == nil && v != payloadRecordV1 {
		r.off--
		r.fail(fmt.Sprintf("unknown version %d", v))
	}
	var s sealed
	s.KeyID = r.string("key id")
	s.Nonce = r.bytes("nonce")
	if r.err == nil && len(s.Nonce) != gcmNonceLen {
		r.off = r.last
		r.fail(fmt.Sprintf("nonce is %d bytes, want %d", len(s.Nonce), gcmNonceLen))
	}
	if r.err != nil {
		return sealed{}, r.err
	}
	s.Box = b[r.off:]
	if len(s.Box) < 16 {
		return sealed{}, &RecordError{Record: "payload", Offset: r.off, Detail: "ciphertext shorter than the GCM tag"}
	}
	return s, nil
}

// counter is an outstanding count and amount (per currency or per card).
type counter struct {
	Count  int64
	Amount int64
}

func encodeCounter(c counter) []byte {
	b := []byte{counterRecordV1}
	b = binary.AppendVarint(b, c.Count)
	return binary.AppendVarint(b, c.Amount)
}

func decodeCounter(b []byte) (counter, error) {
	r := &reader{rec: "counter", b: b}
	if v := r.byte("version"); r.err == nil && v != counterRecordV1 {
		r.off--
		r.fail(fmt.Sprintf("unknown version %d", v))
	}
	c := counter{Count: r.varint("count"), Amount: r.varint("amount")}
	r.end()
	if r.err != nil {
		return counter{}, r.err
	}
	return c, nil
}
