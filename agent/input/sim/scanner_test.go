package sim

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestScanner(t *testing.T) {
	s := NewScanner("")
	if s.Name() != "qr-simulated" {
		t.Fatalf("name %q", s.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Scan(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("scan with nothing shown: %v", err)
	}
	if err := s.Show("134567000000000001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Show("134567000000000002"); !errors.Is(err, ErrScannerBusy) {
		t.Fatalf("second code while one waits: %v", err)
	}
	if code, err := s.Scan(context.Background()); err != nil || code != "134567000000000001" {
		t.Fatalf("scan: %q %v", code, err)
	}
	if s.Show("") == nil {
		t.Fatal("empty code accepted")
	}
}
