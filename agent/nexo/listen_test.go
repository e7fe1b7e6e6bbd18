package nexo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "pass")
	os.WriteFile(pf, []byte("shared secret\r\nignored line\n"), 0o600)
	cfg := Config{Keys: []KeyConfig{{Identifier: "K", Version: 2, PassphraseFile: pf}, {Identifier: "K", Version: 3, Passphrase: "inline"}}}
	ring, err := cfg.Keyring()
	if err != nil || ring.Len() != 2 {
		t.Fatalf("keyring: %v %d", err, ring.Len())
	}
	k, _ := ring.Lookup("K", 2)
	want := testKey(t, "K", 2, "shared secret")
	if string(k.hmacKey) != string(want.hmacKey) {
		t.Fatal("passphrase file not read as its first line")
	}
	if _, err := (Config{}).Options(nil, nil); err == nil {
		t.Fatal("no keys and no plain accepted")
	}
	if _, err := (Config{AllowPlain: true}).Options(nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := (Config{Keys: []KeyConfig{{Identifier: "K", PassphraseFile: filepath.Join(dir, "missing")}}}).Keyring(); err == nil {
		t.Fatal("missing passphrase file accepted")
	}
	if _, err := (Config{}).TLSConfig(dir); err == nil {
		t.Fatal("missing certificate accepted")
	}
	for poiid, ok := range map[string]bool{"posagent-T1": true, "V400m-346403161": true, "posagent": false, "a-b-c": false, "pos_agent-1": false} {
		if _, err := CertName(poiid); (err == nil) != ok {
			t.Errorf("CertName(%q): %v", poiid, err)
		}
	}
}
