package offline

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const keyFileHeader = "# posagent offline queue keys (AES-256-GCM); secret: never copy, never log; last line is the current key"

// keyring holds the payload keys; the last one seals new payloads.
type keyring struct {
	ids  []string
	raw  map[string][]byte
	aead map[string]cipher.AEAD
}

func (k *keyring) current() string { return k.ids[len(k.ids)-1] }

func keyIDOf(key []byte) string {
	sum := sha256.Sum256(append([]byte("posagent-offline-key-id:"), key...))
	return "k" + hex.EncodeToString(sum[:6])
}

func (k *keyring) add(key []byte) (string, error) {
	if len(key) != 32 {
		return "", fmt.Errorf("key is %d bytes, want 32", len(key))
	}
	id := keyIDOf(key)
	if _, ok := k.raw[id]; ok {
		return id, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	if k.raw == nil {
		k.raw, k.aead = map[string][]byte{}, map[string]cipher.AEAD{}
	}
	k.ids = append(k.ids, id)
	k.raw[id] = append([]byte(nil), key...)
	k.aead[id] = g
	return id, nil
}

// parseKeyring parses a key file. Errors are *RecordError and never quote
// key material.
func parseKeyring(data []byte) (*keyring, error) {
	k := &keyring{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 256), 4096)
	line, off := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		start := off
		off += len(sc.Bytes()) + 1
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		id, hx, ok := strings.Cut(text, " ")
		if !ok {
			return nil, &RecordError{Record: "key file", Offset: start, Detail: fmt.Sprintf("line %d: want \"ID HEXKEY\"", line)}
		}
		key, err := hex.DecodeString(strings.TrimSpace(hx))
		if err != nil || len(key) != 32 {
			return nil, &RecordError{Record: "key file", Offset: start, Detail: fmt.Sprintf("line %d: key is not 64 hex digits", line)}
		}
		got, _ := k.add(key)
		if got != id {
			return nil, &RecordError{Record: "key file", Offset: start, Detail: fmt.Sprintf("line %d: key does not match its id %q", line, id)}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &RecordError{Record: "key file", Offset: off, Detail: "line too long"}
	}
	if len(k.ids) == 0 {
		return nil, &RecordError{Record: "key file", Offset: 0, Detail: "no key in file"}
	}
	return k, nil
}

func (k *keyring) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(keyFileHeader + "\n")
	for _, id := range k.ids {
		fmt.Fprintf(&b, "%s %s\n", id, hex.EncodeToString(k.raw[id]))
	}
	return b.Bytes()
}

// seal encrypts plain for entry id under the current key. The entry id and
// key id are bound as additional data so that a payload cannot be moved to
// another entry.
func (k *keyring) seal(id string, plain []byte) (sealed, error) {
	kid := k.current()
	nonce := make([]byte, gcmNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return sealed{}, err
	}
	box := k.aead[kid].Seal(nil, nonce, plain, aad(id, kid))
	return sealed{KeyID: kid, Nonce: nonce, Box: box}, nil
}

func (k *keyring) open(id string, s sealed) ([]byte, error) {
	g, ok := k.aead[s.KeyID]
	if !ok {
		return nil, &KeyError{Detail: fmt.Sprintf("entry %s is sealed with key %s, which is not in the key file", id, s.KeyID)}
	}
	plain, err := g.Open(nil, s.Nonce, s.Box, aad(id, s.KeyID))
	if err != nil {
		return nil, &CorruptError{Detail: fmt.Sprintf("payload of entry %s does not authenticate under key %s", id, s.KeyID)}
	}
	return plain, nil
}

func aad(id, kid string) []byte { return []byte("posagent-offline-v1\x00" + id + "\x00" + kid) }

// checkPrivate refuses a secret file that others can read.
func checkPrivate(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o077 != 0 {
		return &KeyError{Path: path, Detail: fmt.Sprintf("permissions %#o are too open: run chmod 600 %s", fi.Mode().Perm(), path)}
	}
	return nil
}

// loadKeyring reads the key file; exists=false when there is none.
func loadKeyring(path string) (k *keyring, exists bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &KeyError{Path: path, Detail: "cannot stat", Err: err}
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, true, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, true, &KeyError{Path: path, Detail: "cannot read", Err: err}
	}
	k, err = parseKeyring(data)
	if err != nil {
		return nil, true, &KeyError{Path: path, Detail: "unreadable", Err: err}
	}
	return k, true, nil
}

func newKey() ([]byte, error) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	return key, err
}

// writeFileAtomic writes data to path with mode 0600: temp file, fsync,
// rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadSecret reads the device secret used for card keys, creating it on
// first start.
func loadSecret(path string, readOnly bool) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if readOnly {
			return nil, nil
		}
		secret, err := newKey()
		if err != nil {
			return nil, &KeyError{Path: path, Detail: "cannot generate device secret", Err: err}
		}
		data := "# posagent device secret for card velocity keys; never copy, never log\n" + hex.EncodeToString(secret) + "\n"
		if err := writeFileAtomic(path, []byte(data)); err != nil {
			return nil, &KeyError{Path: path, Detail: "cannot create device secret", Err: err}
		}
		return secret, nil
	}
	if err != nil {
		return nil, &KeyError{Path: path, Detail: "cannot stat", Err: err}
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &KeyError{Path: path, Detail: "cannot read", Err: err}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		secret, err := hex.DecodeString(line)
		if err != nil || len(secret) != 32 {
			return nil, &KeyError{Path: path, Detail: "device secret is not 64 hex digits"}
		}
		return secret, nil
	}
	return nil, &KeyError{Path: path, Detail: "no device secret in file"}
}

// cardKey is HMAC-SHA256(secret, "pan:" + digits of pan).
func cardKey(secret []byte, pan string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("posagent-velocity-pan:"))
	for i := 0; i < len(pan); i++ {
		if c := pan[i]; c >= '0' && c <= '9' {
			m.Write([]byte{c})
		}
	}
	return m.Sum(nil)
}
