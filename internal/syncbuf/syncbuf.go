// Package syncbuf is a bytes.Buffer that a command or logger may write while a
// test reads it: the one copy the tests of several packages share.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects writes from several goroutines; its zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
