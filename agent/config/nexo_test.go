package config

import (
	"strings"
	"testing"
)

func TestNexoSection(t *testing.T) {
	c, err := Parse("n.toml", "[nexo]\nenabled = true\npoiid = \"posagent-T1\"\n[[nexo.keys]]\nidentifier = \"posagent\"\nversion = 1\npassphrase = \"shared\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Nexo.Enabled || c.Nexo.Listen != "127.0.0.1:8443" || len(c.Nexo.Keys) != 1 || c.Nexo.Keys[0].Version != 1 {
		t.Fatalf("nexo = %+v", c.Nexo)
	}
	for text, field := range map[string]string{
		"[nexo]\nenabled = true\n":                                                                    "nexo.keys",
		"[nexo]\nenabled = true\nallow_plain = true\nlisten = \"nope\"\n":                             "nexo.listen",
		"[nexo]\nenabled = true\n[[nexo.keys]]\nidentifier = \"\"\nversion = 1\npassphrase = \"x\"\n": "nexo.keys",
		"[nexo]\nbogus = 1\n": "nexo.bogus",
	} {
		if _, err := Parse("n.toml", text); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: %v, want an error on %s", text, err, field)
		}
	}
	if _, err := Parse("n.toml", "[nexo]\nenabled = false\n"); err != nil {
		t.Fatalf("disabled nexo needs nothing: %v", err)
	}
}
