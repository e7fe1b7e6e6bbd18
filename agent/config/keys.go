package config

import (
	"fmt"
	"os"
	"path/filepath"

	"posagent/offline"
)

// Key material, by file name in key_dir and by systemd credential name.
const (
	QueueKeyName     = "queue.key"     // AES-256-GCM keys of the queue's card data
	DeviceSecretName = "device.secret" // HMAC secret of the per-card offline counters
	APITokenName     = "api.token"     // bearer token of the local API
)

// CredentialsEnv is the variable systemd sets for LoadCredential= and
// LoadCredentialEncrypted=.
const CredentialsEnv = "CREDENTIALS_DIRECTORY"

// KeyPaths are the files that hold key material.
type KeyPaths struct {
	QueueKey     string
	DeviceSecret string
	APIToken     string
}

// DBPath is the one bbolt file in the data directory.
func (c *Config) DBPath() string { return filepath.Join(c.DataDir, offline.DBFileName) }

// Keys returns where each key is: in $CREDENTIALS_DIRECTORY when systemd
// passed it as a credential, else in key_dir (created there on first start).
func (c *Config) Keys() KeyPaths { return c.keysFrom(os.Getenv(CredentialsEnv)) }

func (c *Config) keysFrom(credDir string) KeyPaths {
	pick := func(name string) string {
		if credDir != "" {
			p := filepath.Join(credDir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
		return filepath.Join(c.KeyDir, name)
	}
	return KeyPaths{QueueKey: pick(QueueKeyName), DeviceSecret: pick(DeviceSecretName), APIToken: pick(APITokenName)}
}

// PrepareDirs creates the data and key directories (0700) when missing and
// refuses a key directory that group or others can enter, or that lies
// inside the data directory (Validate checks the paths as written; this
// checks them as they are on disk, symlinks resolved).
func (c *Config) PrepareDirs() error {
	for _, d := range []struct{ field, dir string }{{"data_dir", c.DataDir}, {"key_dir", c.KeyDir}} {
		if err := os.MkdirAll(d.dir, 0o700); err != nil {
			return &FieldError{File: c.File, Field: d.field, Reason: err.Error()}
		}
	}
	fi, err := os.Stat(c.KeyDir)
	if err != nil {
		return &FieldError{File: c.File, Field: "key_dir", Reason: err.Error()}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &FieldError{File: c.File, Field: "key_dir", Reason: fmt.Sprintf("%s has mode %04o: key material needs 0700 (chmod 700 %s)", c.KeyDir, fi.Mode().Perm(), c.KeyDir)}
	}
	data, err1 := filepath.EvalSymlinks(c.DataDir)
	keys, err2 := filepath.EvalSymlinks(c.KeyDir)
	if err1 == nil && err2 == nil && (within(keys, data) || within(data, keys)) {
		return &FieldError{File: c.File, Field: "key_dir", Reason: fmt.Sprintf("%s resolves to %s, not apart from data_dir %s", c.KeyDir, keys, data)}
	}
	return nil
}
