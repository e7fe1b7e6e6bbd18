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
}

// maxPending bounds what a scanner keeps: the longest block.
const maxPending = 3 + MaxIFS + 2

// Feed appends bytes read from the stream.
func (s *Scanner) Feed(p []byte) { s.buf = append(s.buf, p...) }

// Pending reports how many bytes wait for the rest of a block.
func (s *Scanner) Pending() int { return len(s.buf) }

// Discard drops the pending bytes (a partial block older than the character
// waiting time) and reports whether there were any.
func (s *Scanner) Discard() bool {
	n := len(s.buf)
	s.Garbage += n
	s.buf = s.buf[:0]
	return n > 0
}

// Next returns the next complete block (ok true; INF is a copy), or ok
// false when more bytes are needed. A block whose header was valid but whose
// EDC did not match is reported once as err (a *BlockError matching ErrEDC),
// so the receiver can ask for a retransmission at once; the scan then goes on
// from the byte after that block's NAD.
func (s *Scanner) Next() (b Block, ok bool, err error) {
	for len(s.buf) > 0 {
		blk, n, derr := Decode(s.buf, s.Options)
		switch {
		case derr == nil:
			blk.INF = append([]byte(nil), blk.INF...)
			s.buf = append(s.buf[:0], s.buf[n:]...)
			return blk, true, nil
		case errors.Is(derr, ErrIncomplete):
			if len(s.buf) > maxPending { // cannot happen with a valid header; defensive
				s.drop()
				continue
			}
			return Block{}, false, nil
		case errors.Is(derr, ErrEDC):
			s.drop()
			return Block{}, false, derr
		default:
			s.drop()
		}
	}
	return Block{}, false, nil
}

func (s *Scanner) drop() {
	s.Garbage++
	s.buf = append(s.buf[:0], s.buf[1:]...)
}
