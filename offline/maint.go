package offline

import (
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Rekey rotates the payload key: a new key is added to the key file, every
// payload is re-encrypted under it, then the old keys are dropped from the
// file. A crash at any point leaves every entry readable (the key file
// holds both keys until all payloads are re-encrypted). It returns the new
// key id and the number of payloads re-encrypted.
func (s *Store) Rekey(progress func(done, total int)) (string, int, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	old := s.keys.Load()
	if old == nil {
		return "", 0, &KeyError{Path: s.keyPath, Detail: "store opened without a key"}
	}
	key, err := newKey()
	if err != nil {
		return "", 0, &KeyError{Path: s.keyPath, Detail: "cannot generate key", Err: err}
	}
	both := &keyring{}
	for _, id := range old.ids {
		both.add(old.raw[id])
	}
	newID, err := both.add(key)
	if err != nil {
		return "", 0, &KeyError{Path: s.keyPath, Detail: "cannot use new key", Err: err}
	}
	if err := writeFileAtomic(s.keyPath, both.marshal()); err != nil {
		return "", 0, &KeyError{Path: s.keyPath, Detail: "cannot write key file", Err: err}
	}
	s.keys.Store(both)

	var total int
	if err := s.db.View(func(tx *bolt.Tx) error {
		total = countPayloads(tx.Bucket(bktEntries))
		return nil
	}); err != nil {
		return "", 0, err
	}
	done := 0
	var after []byte
	for {
		n := 0
		err := s.update("rekey", func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(bktEntries)
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			type upd struct{ k, v []byte }
			var ups []upd
			for ; k != nil && n < 500; k, v = c.Next() {
				if !isPayloadKey(k) {
					continue
				}
				n++
				after = append(after[:0], k...)
				id := string(k[:len(k)-1])
				sl, err := decodeSealed(v)
				if err != nil {
					return err
				}
				if sl.KeyID == newID {
					continue
				}
				plain, err := both.open(id, sl)
				if err != nil {
					return err
				}
				ns, err := both.seal(id, plain)
				if err != nil {
					return err
				}
				ups = append(ups, upd{append([]byte(nil), k...), encodeSealed(ns)})
			}
			for _, u := range ups {
				if err := b.Put(u.k, u.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return newID, done, err
		}
		done += n
		if progress != nil {
			progress(done, total)
		}
		if n < 500 {
			break
		}
	}
	only := &keyring{}
	only.add(key)
	if err := writeFileAtomic(s.keyPath, only.marshal()); err != nil {
		return newID, done, &KeyError{Path: s.keyPath, Detail: "cannot write key file (old key kept, entries readable)", Err: err}
	}
	// The file now holds only the new key; in memory the retired keys stay
	// (current is the new one) for readers of older snapshots.
	s.log.Info("offline queue: payload key rotated", "key_id", newID, "entries", done)
	return newID, done, nil
}

// Compact copies the live data of the queue file at path into a fresh file
// and replaces the original with it. The store must not be open (the file
// lock is taken for the duration).
func Compact(path string, opts Options) (before, after int64, err error) {
	timeout := opts.OpenTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	src, err := openBolt(path, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size()
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return before, 0, err
	}
	if err := bolt.Compact(dst, src, 4<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return before, 0, &StorageError{Op: "compact", Path: path, Err: err}
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return before, 0, &StorageError{Op: "compact", Path: path, Err: err}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return before, 0, &StorageError{Op: "compact", Path: path, Err: err}
	}
	src.Close()
	src = nil
	if err := syncDir(filepath.Dir(path)); err != nil {
		return before, 0, err
	}
	fi, err = os.Stat(path)
	if err != nil {
		return before, 0, err
	}
	return before, fi.Size(), nil
}
