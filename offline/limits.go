package offline

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckLimits reports whether an offline approval of amount in currency,
// for the card with velocity key cardKey (from CardKey; may be nil), would
// stay within the offline limits at time now. It returns a *LimitError
// naming the first limit that refuses it. Enqueue of an advice repeats the
// check atomically, so two concurrent approvals cannot both squeeze under
// a limit.
func (s *Store) CheckLimits(amount int64, currency string, cardKey []byte, now time.Time) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		return s.checkLimitsTx(tx, amount, currency, cardKey, now)
	})
	return s.wrapWrite("check limits", err)
}

func (s *Store) checkLimitsTx(tx *bolt.Tx, amount int64, currency string, cardKey []byte, now time.Time) error {
	l, ok := s.opts.limitFor(currency)
	if !ok {
		return &LimitError{Limit: LimitCurrency, Currency: currency}
	}
	refuse := func(name LimitName, max, value int64) error {
		return &LimitError{Limit: name, Currency: currency, Max: max, Value: value}
	}
	if l.PerTransaction > 0 && amount > l.PerTransaction {
		return refuse(LimitPerTransaction, l.PerTransaction, amount)
	}
	b := tx.Bucket(bktCounters)
	cur, err := readCounter(b, curCounterKey(currency))
	if err != nil {
		return err
	}
	if l.Count > 0 && cur.Count+1 > int64(l.Count) {
		return refuse(LimitCount, int64(l.Count), cur.Count+1)
	}
	if l.TotalAmount > 0 && cur.Amount+amount > l.TotalAmount {
		return refuse(LimitTotalAmount, l.TotalAmount, cur.Amount+amount)
	}
	if l.MaxAge > 0 && cur.Count > 0 {
		oldest, err := oldestAdvice(tx, currency)
		if err != nil {
			return err
		}
		if age := now.Sub(oldest); !oldest.IsZero() && age > l.MaxAge {
			return refuse(LimitAge, int64(l.MaxAge/time.Second), int64(age/time.Second))
		}
	}
	if len(cardKey) > 0 && (l.CardCount > 0 || l.CardAmount > 0) {
		card, err := readCounter(b, cardCounterKey(currency, cardKey))
		if err != nil {
			return err
		}
		if l.CardCount > 0 && card.Count+1 > int64(l.CardCount) {
			return refuse(LimitCardCount, int64(l.CardCount), card.Count+1)
		}
		if l.CardAmount > 0 && card.Amount+amount > l.CardAmount {
			return refuse(LimitCardAmount, l.CardAmount, card.Amount+amount)
		}
	}
	return nil
}

// oldestAdvice returns the creation time of the oldest queued advice in
// currency (queue order is enqueue order).
func oldestAdvice(tx *bolt.Tx, currency string) (time.Time, error) {
	c := tx.Bucket(bktQueue).Cursor()
	rank := kindRank(KindAdvice)
	for k, id := c.Seek([]byte{rank}); k != nil && k[0] == rank; k, id = c.Next() {
		e, err := getEntry(tx, string(id))
		if err != nil {
			return time.Time{}, err
		}
		if e.Currency == currency {
			return e.Created, nil
		}
	}
	return time.Time{}, nil
}
