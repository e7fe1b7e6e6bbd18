package trace

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"posagent/reader"
	"strings"
	"sync"
)

// Divergence is one point where the kernel departed from the recording.
type Divergence struct {
	// Exchange is the index in Trace.Exchanges of the recorded exchange
	// concerned, -1 when the kernel's command matched none.
	Exchange int `json:"exchange"`
	// Command is the header (CLA INS P1 P2, hex) of the command concerned:
	// the kernel's, or the recorded one for a skipped exchange. Never data.
	Command string `json:"command"`
	// Reason says what happened, for people.
	Reason string `json:"reason"`
}

// Status words the replayer answers a command it has no recording for.
var (
	swNotFound       = []byte{0x6A, 0x82} // SELECT: file or application not found
	swRecordNotFound = []byte{0x6A, 0x83} // READ RECORD: record not found
	swINSUnsupported = []byte{0x6D, 0x00} // anything else: instruction not supported
	swWrongLength    = []byte{0x67, 0x00} // a command too short to have a header
)

// Replayer is a Card that answers from a recording. It is safe for
// concurrent use, though a session is sequential by nature.
type Replayer struct {
	t *Trace

	mu     sync.Mutex
	cursor int // first recorded exchange not consumed or skipped
	div    []Divergence
	sent   int
}

// NewReplayer replays t. t must not be modified while replaying.
func NewReplayer(t *Trace) *Replayer {
	return &Replayer{t: t}
}

// match kinds, in the order a recorded exchange is tried.
type matchKind uint8

const (
	noMatch matchKind = iota
	exactMatch
	wildcardMatch
	variantMatch
)

// Transmit answers apdu with the response of the first recorded exchange
// from the cursor that matches it (see docs/trace-format.md): recorded
// exchanges passed over are reported as skipped, a compatible variant is
// reported as such, and a command with no match is answered 6A82 (SELECT),
// 6A83 (READ RECORD) or 6D00 and reported, leaving the cursor in place.
// It fails only when ctx is done.
func (r *Replayer) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	if len(apdu) < minCommand {
		r.div = append(r.div, Divergence{Exchange: -1, Command: strings.ToUpper(hex.EncodeToString(apdu)),
			Reason: fmt.Sprintf("kernel sent a command of %d bytes; answered 6700", len(apdu))})
		return append([]byte{}, swWrongLength...), nil
	}
	ex := r.t.Exchanges
	for i := r.cursor; i < len(ex); i++ {
		kind, note := match(ex[i].Command, apdu)
		if kind == noMatch {
			continue
		}
		for j := r.cursor; j < i; j++ {
			r.div = append(r.div, Divergence{Exchange: j, Command: header(ex[j].Command),
				Reason: fmt.Sprintf("skipped recorded %s never asked by the kernel", Describe(ex[j].Command))})
		}
		if kind == variantMatch {
			r.div = append(r.div, Divergence{Exchange: i, Command: header(apdu),
				Reason: fmt.Sprintf("%s answered by recorded %s (%s)", Describe(apdu), Describe(ex[i].Command), note)})
		}
		r.cursor = i + 1
		return append([]byte{}, ex[i].Response...), nil
	}
	sw := swINSUnsupported
	switch apdu[1] {
	case 0xA4:
		sw = swNotFound
	case 0xB2:
		sw = swRecordNotFound
	}
	r.div = append(r.div, Divergence{Exchange: -1, Command: header(apdu),
		Reason: fmt.Sprintf("no recorded exchange for %s; answered %X", Describe(apdu), sw)})
	return append([]byte{}, sw...), nil
}

// match compares a recorded command (nil = "> *") with the kernel's.
func match(rec, cmd []byte) (matchKind, string) {
	if rec == nil {
		return wildcardMatch, ""
	}
	if bytes.Equal(rec, cmd) {
		return exactMatch, ""
	}
	ra, err1 := reader.ParseCommand(rec)
	ca, err2 := reader.ParseCommand(cmd)
	if err1 != nil || err2 != nil {
		return noMatch, ""
	}
	var notes []string
	if ca.INS == 0xC0 && ra.INS == 0x0C {
		ra.INS = 0xC0
		notes = append(notes, "INS 0C recorded instead of C0")
	}
	if ra.CLA != ca.CLA || ra.INS != ca.INS || ra.P1 != ca.P1 || ra.P2 != ca.P2 {
		return noMatch, ""
	}
	if !bytes.Equal(ra.Data, ca.Data) {
		isSelect := ca.INS == 0xA4 && ca.P1 == 0x04
		if !isSelect || len(ra.Data) == 0 || len(ca.Data) == 0 ||
			!(bytes.HasPrefix(ra.Data, ca.Data) || bytes.HasPrefix(ca.Data, ra.Data)) {
			return noMatch, ""
		}
		notes = append(notes, "partial name")
	}
	if rl, cl := leString(ra), leString(ca); rl != cl {
		notes = append(notes, fmt.Sprintf("Le %s recorded, %s sent", rl, cl))
	}
	return variantMatch, strings.Join(notes, ", ")
}

// leString shows a command's Le field as it was encoded.
func leString(c reader.Command) string {
	switch {
	case !c.HasLe:
		return "absent"
	case !c.Extended:
		return fmt.Sprintf("%02X", c.Le)
	case len(c.Data) > 0:
		return fmt.Sprintf("%04X", c.Le)
	}
	return fmt.Sprintf("00%04X", c.Le)
}

// RecordedCommand returns a copy of the full command APDU of the next
// recorded exchange not yet consumed whose CLA and INS are cla and ins,
// ignoring "> *" exchanges. The kernel takes the terminal data it sent live
// (unpredictable number, amount, date, TTQ) from it.
func (r *Replayer) RecordedCommand(cla, ins byte) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ex := range r.t.Exchanges[r.cursor:] {
		if len(ex.Command) >= 2 && ex.Command[0] == cla && ex.Command[1] == ins {
			return append([]byte{}, ex.Command...), true
		}
	}
	return nil, false
}

// NoteDivergence records a divergence the kernel reports itself (it
// followed the recording against its own choice), at the next recorded
// exchange not yet consumed whose command has this CLA and INS.
func (r *Replayer) NoteDivergence(cla, ins byte, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := r.cursor; i < len(r.t.Exchanges); i++ {
		if c := r.t.Exchanges[i].Command; len(c) >= 2 && c[0] == cla && c[1] == ins {
			r.div = append(r.div, Divergence{Exchange: i, Command: header(c), Reason: reason})
			return
		}
	}
	r.div = append(r.div, Divergence{Exchange: -1, Command: fmt.Sprintf("%02X%02X", cla, ins), Reason: reason})
}

// Divergence returns where the kernel departed from the recording, in the
// order it happened; nil when it followed the recording exactly (trailing
// exchanges it never reached do not count: see Unused).
func (r *Replayer) Divergence() []Divergence {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.div) == 0 {
		return nil
	}
	return append([]Divergence(nil), r.div...)
}

// Sent is the number of commands the kernel sent.
func (r *Replayer) Sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

// Unused is the number of recorded exchanges after the last one consumed:
// the recording went on where the kernel stopped.
func (r *Replayer) Unused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.t.Exchanges) - r.cursor
}
