package uplink

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSTANMonotonicAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stan")
	last := 0
	for life := 0; life < 4; life++ {
		s, err := OpenSTAN(path, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 7+life*5; i++ { // stop inside and across blocks
			v, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(v)
			if len(v) != 6 || n <= last {
				t.Fatalf("life %d: STAN %s after %d", life, v, last)
			}
			last = n
		}
	}
}

func TestSTANWraps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stan")
	if err := os.WriteFile(path, []byte("999998\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSTAN(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 4; i++ {
		v, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := []string{"999998", "999999", "000001", "000002"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// After the wrap the file must not send a restart back to 999998.
	s2, err := OpenSTAN(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.Next(); v <= "000002" || v >= "999998" {
		t.Fatalf("after restart %s", v)
	}
}

func TestSTANCorruptFile(t *testing.T) {
	for name, content := range map[string]string{"text": "abc", "zero": "0", "too big": "1000000", "negative": "-5"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "stan")
			os.WriteFile(path, []byte(content), 0o600)
			if _, err := OpenSTAN(path, 0); err == nil {
				t.Fatal("corrupt STAN file accepted")
			}
		})
	}
}
