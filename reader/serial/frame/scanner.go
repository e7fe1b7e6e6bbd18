package frame

import "errors"

// Scanner finds blocks in a byte stream that may hold garbage: line noise,
// the tail of a damaged block, a block for another node. It does no I/O:
// Feed it what was read, then take blocks with Next until it has none.
type Scanner struct {
	Options DecodeOptions
	buf     []byte
	// Garbage counts the bytes dropped while looking for a block start.
	Garbage int
	damaged error // an EDC failure not yet reported
}

// Feed appends bytes read from the stream.
func (s *Scanner) Feed(p []byte) { s.buf = append(s.buf, p...) }

// Pending reports how many bytes wait for the rest of a block.
func (s *Scanner) Pending() int { return len(s.buf) }

// Discard drops the pending bytes (a partial block older than the character
// waiting time) and reports whether there were any.
func (s *Scanner) Discard() bool {
	s.damaged = nil
	n := len(s.buf)
	s.Garbage += n
	s.buf = s.buf[:0]
	return n > 0
}

// Next returns the next complete block (ok true; INF is a copy), or ok
// false when more bytes are needed. Noise that looks like the start of a
// block (a NAD, a valid PCB and LEN) is recognised as noise when a valid
// block follows it. A block whose header was valid but whose EDC did not
// match, and after which no valid block is found, is reported once as err
// (a *BlockError matching ErrEDC), so the receiver can ask for a
// retransmission at once.
func (s *Scanner) Next() (b Block, ok bool, err error) {
	for len(s.buf) > 0 {
		blk, n, derr := Decode(s.buf, s.Options)
		switch {
		case derr == nil:
			blk.INF = append([]byte(nil), blk.INF...)
			s.buf = append(s.buf[:0], s.buf[n:]...)
			s.damaged = nil
			return blk, true, nil
		case errors.Is(derr, ErrIncomplete):
			// A valid block further on means this start was noise.
			if off := s.validAhead(); off > 0 {
				s.Garbage += off
				s.buf = append(s.buf[:0], s.buf[off:]...)
				continue
			}
			return Block{}, false, nil
		case errors.Is(derr, ErrEDC):
			s.damaged = derr
		}
		s.drop()
	}
	if err := s.damaged; err != nil {
		s.damaged = nil
		return Block{}, false, err
	}
	return Block{}, false, nil
}

// validAhead returns the offset of the first complete valid block after
// the start of the buffer, or 0.
func (s *Scanner) validAhead() int {
	for i := 1; i < len(s.buf); i++ {
		if s.buf[i] != s.Options.NAD {
			continue
		}
		if _, _, err := Decode(s.buf[i:], s.Options); err == nil {
			return i
		}
	}
	return 0
}

func (s *Scanner) drop() {
	s.Garbage++
	s.buf = append(s.buf[:0], s.buf[1:]...)
}
