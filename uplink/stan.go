package uplink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// STAN hands out systems trace audit numbers (000001-999999, then wrapping
// to 000001), persisted so that they stay monotonic across restarts. To
// avoid an fsync per number it reserves blocks: the file holds the first
// number not yet handed out by any process life, written (atomically,
// fsync'd) before a number of the block is used. A crash skips at most one
// block.
type STAN struct {
	mu    sync.Mutex
	path  string
	next  int // next number to hand out
	limit int // first number not covered by the persisted reservation
	block int
}

// MaxSTAN is the largest STAN; the next one wraps to 1.
const MaxSTAN = 999999

// OpenSTAN opens (or creates) the STAN file at path. block is how many
// numbers one fsync reserves (0 = 100).
func OpenSTAN(path string, block int) (*STAN, error) {
	if block <= 0 {
		block = 100
	}
	s := &STAN{path: path, next: 1, block: block}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("uplink: reading STAN file: %w", err)
	default:
		v, perr := strconv.Atoi(strings.TrimSpace(string(raw)))
		if perr != nil || v < 1 || v > MaxSTAN {
			return nil, fmt.Errorf("uplink: STAN file %s is corrupt (want a number 1-%d)", path, MaxSTAN)
		}
		s.next = v
	}
	s.limit = s.next
	return s, nil
}

// Next returns the next STAN as 6 digits.
func (s *STAN) Next() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == s.limit {
		limit := s.next + s.block
		if limit > MaxSTAN+1 {
			limit = MaxSTAN + 1
		}
		persist := limit
		if persist > MaxSTAN {
			persist = 1
		}
		if err := writeFileSync(s.path, []byte(strconv.Itoa(persist)+"\n")); err != nil {
			return "", fmt.Errorf("uplink: persisting STAN: %w", err)
		}
		s.limit = limit
	}
	v := s.next
	s.next++
	if s.next > MaxSTAN {
		s.next, s.limit = 1, 1
	}
	return fmt.Sprintf("%06d", v), nil
}

// writeFileSync replaces path atomically and durably.
func writeFileSync(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".stan-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
