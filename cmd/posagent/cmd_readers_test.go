package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/emv/cardsim/vpcd"
	"posagent/internal/syncbuf"
	"posagent/reader/pcsc/pcsctest"
)

func TestReadersList(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	card := pcsctest.NewFixedCard(nil)
	pcsctest.Attach(t, pcsctest.Addr1, card, vpcd.Options{})

	var views []readerView
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out, errOut bytes.Buffer
		if code := runReaders(context.Background(), []string{"--json"}, &out, &errOut); code != 0 {
			t.Fatalf("readers --json: exit %d: %s", code, errOut.String())
		}
		views = nil
		if err := json.Unmarshal(out.Bytes(), &views); err != nil {
			t.Fatalf("readers --json output: %v\n%s", err, out.String())
		}
		present := false
		for _, v := range views {
			present = present || (v.Reader == pcsctest.Reader1 && v.Present)
		}
		if present || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]readerView{
		pcsctest.Reader0: {Reader: pcsctest.Reader0, Profile: "vpcd", Model: "vsmartcard virtual reader (vpcd)", Contactless: true, TestOnly: true},
		pcsctest.Reader1: {Reader: pcsctest.Reader1, Profile: "vpcd", Model: "vsmartcard virtual reader (vpcd)", Contactless: true, TestOnly: true, Present: true, ATR: "3B80800101"},
	}
	for _, v := range views {
		if w, ok := want[v.Reader]; ok {
			if v != w {
				t.Errorf("reader %s:\n got %+v\nwant %+v", v.Reader, v, w)
			}
			delete(want, v.Reader)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing readers: %v", want)
	}

	var out, errOut bytes.Buffer
	if code := runReaders(context.Background(), nil, &out, &errOut); code != 0 {
		t.Fatalf("readers: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Virtual PCD 00 01  vpcd (test-only)  present  3B80800101") {
		t.Errorf("text listing:\n%s", out.String())
	}
}

func TestReadersWatch(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- runReaders(ctx, []string{"--watch", "--json"}, &out, &errOut) }()

	waitFor := func(event string) readerEvent {
		t.Helper()
		for {
			for _, line := range strings.Split(out.String(), "\n") {
				var e readerEvent
				if json.Unmarshal([]byte(line), &e) == nil && e.Event == event && e.Reader == pcsctest.Reader0 {
					return e
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no %s event; output:\n%s\nstderr:\n%s", event, out.String(), errOut.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if e := waitFor("reader-added"); e.Present || e.Profile != "vpcd" {
		t.Errorf("reader-added = %+v", e)
	}
	att := pcsctest.Attach(t, pcsctest.Addr0, pcsctest.NewFixedCard(nil), vpcd.Options{})
	if e := waitFor("card-inserted"); !e.Present || e.ATR != "3B80800101" {
		t.Errorf("card-inserted = %+v", e)
	}
	att.Remove()
	waitFor("card-removed")
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("readers --watch exit %d: %s", code, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readers --watch did not stop on cancel")
	}
}

func TestReadersBadProfile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acs-acr122u.json"), []byte(`{"name": "x", "match": ["ACR122"], "contactless": true,
  "uid_command": "FF CA 00 00 00", "max_apdu": 261, "source": "s", "led_buzzer": {"via": "apdu", "commands": {"succes": ["FF 00 40 0E 04 00 00 00 00"]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := runReaders(context.Background(), []string{"--profiles", dir}, &out, &errOut)
	want := "reader profile " + filepath.Join(dir, "acs-acr122u.json") + ": field led_buzzer.commands.succes: unknown signal"
	if code != 1 || !strings.Contains(errOut.String(), want) {
		t.Errorf("exit %d: %q, want it to say %q", code, errOut.String(), want)
	}
}
