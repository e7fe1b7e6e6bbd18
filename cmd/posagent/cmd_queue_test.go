package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"posagent/offline"
)

const testPAN = "4761739001010010"

type queueSender func(e offline.Entry) error

func (f queueSender) Forward(_ context.Context, e offline.Entry) error { return f(e) }

// makeCLIQueue creates a data dir holding pending, held, done, declined and
// failed entries, and returns it closed.
func makeCLIQueue(t *testing.T, advices int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{Limits: map[string]offline.Limit{"*": {}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < advices; i++ {
		e := offline.Entry{ID: fmt.Sprintf("adv-%05d", i), Kind: offline.KindAdvice, Amount: 1250, Currency: "978",
			Payload: []byte("PAN=" + testPAN + " secret payload"), CardKey: s.CardKey(testPAN)}
		if err := s.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Enqueue(ctx, offline.Entry{ID: "rev-held", Kind: offline.KindReversal, State: offline.StateHeld, Amount: 500, Currency: "978", Payload: []byte(testPAN)}); err != nil {
		t.Fatal(err)
	}
	f := &offline.Forwarder{Store: s, Window: 3, Sender: queueSender(func(e offline.Entry) error {
		switch e.ID {
		case "adv-00001":
			return fmt.Errorf("%w: response 30 format error for card %s", offline.ErrRejected, testPAN)
		case "adv-00002":
			return fmt.Errorf("%w: response 05", offline.ErrDeclined)
		}
		return nil
	})}
	if _, err := f.Step(ctx); err != nil { // adv-00000..00002
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runQ(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runQueue(context.Background(), args, &out, &errb)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, testPAN) || strings.Contains(s, "secret payload") {
			t.Fatalf("queue %v printed card data:\n%s", args, s)
		}
	}
	return code, out.String(), errb.String()
}

func TestQueueCommands(t *testing.T) {
	dir := makeCLIQueue(t, 6)
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string // substrings of stdout
		wantErr string   // substring of stderr
		notWant []string
	}{
		{"ls", []string{"--data", dir, "ls"}, 0, []string{"rev-held", "adv-00003", "adv-00005", "12.50 EUR", "4 entries"}, "", []string{"adv-00000"}},
		{"ls --all", []string{"ls", "--all", "--data", dir}, 0, []string{"adv-00000", "failed", "declined", "476173******0010", "7 entries"}, "", nil},
		{"stats", []string{"--data", dir, "stats"}, 0, []string{"held:     1", "pending:  3", "done:     2", "failed:   1", "outstanding offline approvals 978: 3, 37.50 EUR"}, "", nil},
		{"show", []string{"--data", dir, "show", "adv-00001"}, 0, []string{"state:        failed", "format error", "never shown", "card velocity key: true"}, "", nil},
		{"show missing", []string{"--data", dir, "show", "nope"}, 1, nil, "not found", nil},
		{"export needs --json", []string{"--data", dir, "export"}, 2, nil, "--json", nil},
		{"retry done refused", []string{"--data", dir, "retry", "adv-00000"}, 1, nil, "entry is done", nil},
		{"retry failed", []string{"--data", dir, "retry", "adv-00001"}, 0, []string{"adv-00001 queued"}, "", nil},
		{"purge needs age", []string{"--data", dir, "purge"}, 2, nil, "--done-older-than", nil},
		{"purge bad age", []string{"--data", dir, "purge", "--done-older-than", "soon"}, 2, nil, "bad duration", nil},
		{"purge recent kept", []string{"--data", dir, "purge", "--done-older-than", "30d"}, 0, []string{"purged 0 done entries"}, "", nil},
		{"purge all done", []string{"--data", dir, "purge", "--done-older-than", "0s"}, 0, []string{"purged 2 done entries"}, "", nil},
		{"rekey", []string{"--data", dir, "rekey"}, 0, []string{"payload key rotated", "5 entries re-encrypted"}, "", nil},
		{"compact", []string{"--data", dir, "compact"}, 0, []string{"compacted"}, "", nil},
		{"check", []string{"--data", dir, "check"}, 0, []string{": ok"}, "", nil},
		{"no queue", []string{"--data", t.TempDir(), "ls"}, 1, nil, "no queue at", nil},
		{"unknown command", []string{"--data", dir, "frobnicate"}, 2, nil, "unknown command", nil},
		{"show needs id", []string{"--data", dir, "show"}, 2, nil, "want 1 argument", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runQ(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errs, tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, errs)
			}
		})
	}
	// After rekey the entries still open with the rotated key.
	s, err := offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if e, err := s.Get("adv-00004"); err != nil || !bytes.Contains(e.Payload, []byte("secret payload")) {
		t.Fatalf("after rekey: %v", err)
	}
	if _, err := s.Get("adv-00000"); !errors.Is(err, offline.ErrNotFound) {
		t.Errorf("purged entry still there: %v", err)
	}
}

func TestQueueExportJSON(t *testing.T) {
	dir := makeCLIQueue(t, 1500)
	out := filepath.Join(t.TempDir(), "export.json")
	code, _, errs := runQ(t, "--data", dir, "export", "--json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "exported 1000/1501") || !strings.Contains(errs, "exported 1501 entries") {
		t.Errorf("no progress on a long export:\n%s", errs)
	}
	code, stdout, _ := runQ(t, "--data", dir, "export", "--json")
	if code != 0 {
		t.Fatal(code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if len(got) != 1501 {
		t.Fatalf("%d entries exported, want 1501", len(got))
	}
	for _, e := range got {
		if _, ok := e["payload"]; ok {
			t.Fatal("payload exported")
		}
		if e["key_id"] == "" || e["id"] == "" {
			t.Fatalf("incomplete entry %v", e)
		}
	}
}

func TestQueueLockedFailsFast(t *testing.T) {
	dir := makeCLIQueue(t, 1)
	s, err := offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, args := range [][]string{{"ls"}, {"retry", "x"}, {"compact"}} {
		code, _, errs := runQ(t, append([]string{"--data", dir}, args...)...)
		if code != 1 || !strings.Contains(errs, "in use by another process") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

func TestQueueDataFromEnv(t *testing.T) {
	dir := makeCLIQueue(t, 2)
	t.Setenv("POSAGENT_DATA", dir)
	code, out, errs := runQ(t, "stats")
	if code != 0 || !strings.Contains(out, dir) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

func TestFmtAmount(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1250, "978", "12.50 EUR"},
		{1250, "392", "1250 JPY"},
		{1250, "414", "1.250 KWD"},
		{1250, "000", "1250 (minor units) 000"},
	} {
		if got := fmtAmount(c.amount, c.currency); got != c.want {
			t.Errorf("fmtAmount(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
