package offline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// makeQueue creates a closed queue file holding a few entries.
func makeQueue(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), DBFileName)
	s, err := Open(path, Options{Limits: openLimits})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids(n, "q") {
		mustEnqueue(t, s, advice(id, 10))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenCorruptFile(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600)
		}},
		{"both meta pages zeroed", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			f.WriteAt(make([]byte, 8192), 0)
		}},
		{"truncated to half a page", func(t *testing.T, path string) { os.Truncate(path, 2048) }},
		{"bad entry record", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktEntries).Put([]byte("q0001"), []byte{1, 200}) })
		}},
		{"entry missing from queue", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.Update(func(tx *bolt.Tx) error {
				k, _ := tx.Bucket(bktQueue).Cursor().First()
				return tx.Bucket(bktQueue).Delete(k)
			})
		}},
		{"counter drift", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bktCounters).Put(curCounterKey("978"), encodeCounter(counter{Count: 1, Amount: 10}))
			})
		}},
		{"leaf page scribbled", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			fi, _ := f.Stat()
			for off := int64(4 * 4096); off < fi.Size(); off += 4096 {
				f.WriteAt(bytes.Repeat([]byte{0xA5}, 64), off)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := makeQueue(t, 5)
			tc.corrupt(t, path)
			before := fileHash(t, path)
			s, err := Open(path, Options{Limits: openLimits})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a corrupt file")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "left untouched") || !strings.Contains(msg, "move the file aside") {
				t.Errorf("message does not say what to do: %v", msg)
			}
			if fileHash(t, path) != before {
				t.Error("Open modified the corrupt file")
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	t.Run("created private", func(t *testing.T) {
		s := mustOpen(t, Options{})
		for _, p := range []string{s.opts.KeyFile, s.opts.SecretFile, s.Path()} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v", p, fi.Mode().Perm())
			}
		}
	})
	t.Run("too open refused", func(t *testing.T) {
		path := makeQueue(t, 1)
		os.Chmod(filepath.Join(filepath.Dir(path), KeyFileName), 0o644)
		_, err := Open(path, Options{})
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing key with entries refused", func(t *testing.T) {
		path := makeQueue(t, 3)
		keyPath := filepath.Join(filepath.Dir(path), KeyFileName)
		os.Remove(keyPath)
		_, err := Open(path, Options{})
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "3 encrypted entries") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(keyPath); err == nil {
			t.Error("a new key file was created over the missing one")
		}
	})
	t.Run("wrong key does not open payload", func(t *testing.T) {
		path := makeQueue(t, 1)
		other := mustOpen(t, Options{}) // a different key file
		data, _ := os.ReadFile(other.opts.KeyFile)
		os.WriteFile(filepath.Join(filepath.Dir(path), KeyFileName), data, 0o600)
		s := mustOpenAt(t, path, Options{SkipCheck: true})
		_, err := s.Get("q0000")
		if !errors.Is(err, ErrKey) {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), strings.Fields(string(data))[len(strings.Fields(string(data)))-1]) {
			t.Error("error shows key material")
		}
	})
	t.Run("rekey keeps entries", func(t *testing.T) {
		path := makeQueue(t, 1200)
		s := mustOpenAt(t, path, Options{Limits: openLimits})
		old := mustGet(t, s, "q0000").KeyID
		oldFile, _ := os.ReadFile(s.opts.KeyFile)
		calls := 0
		newID, n, err := s.Rekey(func(done, total int) { calls++ })
		if err != nil || n != 1200 || newID == old || calls < 3 {
			t.Fatalf("rekey: %s %d %v calls %d", newID, n, err, calls)
		}
		mustEnqueue(t, s, advice("after", 1))
		s.Close()
		newFile, _ := os.ReadFile(s.opts.KeyFile)
		if bytes.Contains(newFile, []byte(old)) || bytes.Equal(oldFile, newFile) {
			t.Error("old key still in key file after rekey")
		}
		s = mustOpenAt(t, path, Options{Limits: openLimits})
		for _, id := range []string{"q0000", "q0777", "q1199", "after"} {
			if e := mustGet(t, s, id); e.KeyID != newID || !bytes.Contains(e.Payload, []byte(id)) {
				t.Errorf("%s: key %s payload %q", id, e.KeyID, e.Payload)
			}
		}
	})
}

func TestCardKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFileName)
	s := mustOpenAt(t, path, Options{Limits: openLimits})
	const pan = "4761739001010010"
	a, b := s.CardKey(pan), s.CardKey("4761 7390 0101 0010")
	if !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("card key not stable over formatting")
	}
	if bytes.Equal(a, s.CardKey("4761739001010011")) {
		t.Fatal("two cards share a key")
	}
	other := mustOpen(t, Options{})
	if bytes.Equal(a, other.CardKey(pan)) {
		t.Fatal("card key does not depend on the device secret")
	}
	mustEnqueue(t, s, Entry{ID: "c", Kind: KindAdvice, Amount: 1, Currency: "978", CardKey: a})
	s.Close()
	for _, f := range []string{path, filepath.Join(filepath.Dir(path), SecretFileName), filepath.Join(filepath.Dir(path), KeyFileName)} {
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte(pan)) || bytes.Contains(raw, []byte("7390010100")) {
			t.Errorf("%s holds the PAN", f)
		}
	}
	s2 := mustOpenAt(t, path, Options{})
	if !bytes.Equal(s2.CardKey(pan), a) {
		t.Error("card key changed across restart")
	}
}

func TestInjectedWriteError(t *testing.T) {
	injected := fmt.Errorf("injected: %w", syscall.EIO)
	fail := false
	s := mustOpen(t, Options{Limits: map[string]Limit{"978": {Count: 10}}, testHookCommit: func(op string) error {
		if fail {
			return injected
		}
		return nil
	}})
	mustEnqueue(t, s, advice("ok", 10))
	fail = true
	err := s.Enqueue(context.Background(), advice("lost", 10))
	var se *StorageError
	if !errors.As(err, &se) || !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("err = %v, want StorageError(EIO)", err)
	}
	if err := s.Release("ok"); !errors.Is(err, ErrStorage) && !errors.Is(err, ErrWrongState) {
		t.Fatalf("release: %v", err)
	}
	fail = false
	if _, err := s.Get("lost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed enqueue left the entry: %v", err)
	}
	st, _ := s.Stats()
	if o := st.Outstanding["978"]; o.Count != 1 || o.Amount != 10 {
		t.Errorf("counters changed by the failed enqueue: %+v", o)
	}
	mustEnqueue(t, s, advice("lost", 10)) // the id is free: nothing half-written
}

// TestDiskFull fills a real 2 MiB tmpfs: the offline approval is refused
// with a disk-full error, nothing is half-written, and the queue works again
// once space is freed.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("TestDiskFull needs root to mount a tmpfs in CI")
		}
		t.Skip("not root: cannot mount a tmpfs (run as root or in CI)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := filepath.Join(dir, DBFileName)
	filler := filepath.Join(dir, "other-data")
	if err := os.WriteFile(filler, make([]byte, 512<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Limits: openLimits})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := bytes.Repeat([]byte{'p'}, 8<<10)
	var stored []string
	var full error
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("f%05d", i)
		err := s.Enqueue(context.Background(), Entry{ID: id, Kind: KindAdvice, Amount: 1, Currency: "978", Payload: payload})
		if err != nil {
			full = err
			break
		}
		stored = append(stored, id)
	}
	if full == nil {
		t.Fatal("2 MiB tmpfs never filled")
	}
	if !errors.Is(full, ErrStorage) || !errors.Is(full, syscall.ENOSPC) || !strings.Contains(full.Error(), "disk full") {
		t.Fatalf("err = %v, want disk full StorageError", full)
	}
	failedID := fmt.Sprintf("f%05d", len(stored))
	if _, err := s.Get(failedID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused entry half-written: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check after disk full: %v", err)
	}
	for _, id := range []string{stored[0], stored[len(stored)-1]} {
		if e := mustGet(t, s, id); !bytes.Equal(e.Payload, payload) {
			t.Fatalf("%s damaged", id)
		}
	}
	st, _ := s.Stats()
	if o := st.Outstanding["978"]; o.Count != int64(len(stored)) {
		t.Errorf("outstanding %d, stored %d", o.Count, len(stored))
	}
	// Free space: the queue takes approvals again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, s, Entry{ID: failedID, Kind: KindAdvice, Amount: 1, Currency: "978", Payload: payload})
	if err := s.Check(); err != nil {
		t.Fatalf("check after space freed: %v", err)
	}
	t.Logf("%d entries of 8 KiB filled the tmpfs; error: %v", len(stored), full)
}
