package acqsim

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"posagent/qr"
	"posagent/uplink"
)

// KindWallet journals a merchant-presented code paid by the customer's
// wallet (acqsim pay-qr): TerminalID is the code's terminal label (62/07),
// TransactionID its reference label (62/05).
const KindWallet = "wallet"

// Errors of PayQR.
var (
	ErrNotPayable  = errors.New("acqsim: code cannot be paid")
	ErrAlreadyPaid = errors.New("acqsim: code already paid")
)

// WalletPayment is the wallet's payment of a merchant-presented code.
type WalletPayment struct {
	Status    string `json:"status"` // "paid"
	Reference string `json:"reference"`
	Terminal  string `json:"terminal"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"` // alphabetic
	AuthCode  string `json:"auth_code"`
	Merchant  string `json:"merchant"`
}

// PayQR plays the customer's wallet paying a merchant-presented dynamic
// code: the payload must be structurally valid (CRC included), carry an
// amount, a reference (62/05) and a terminal label (62/07). The payment is
// journalled (fsync'd) before PayQR returns; the terminal learns of it with
// its status request (entry mode 032).
func (s *Server) PayQR(payload string) (WalletPayment, error) {
	m, err := qr.DecodeMPM(strings.TrimSpace(payload))
	if err != nil {
		return WalletPayment{}, fmt.Errorf("%w: %w", ErrNotPayable, err)
	}
	amount, cur, has, err := m.Amount()
	switch {
	case err != nil:
		return WalletPayment{}, fmt.Errorf("%w: %w", ErrNotPayable, err)
	case !has || amount <= 0:
		return WalletPayment{}, fmt.Errorf("%w: no amount (a static code: the wallet would ask the customer)", ErrNotPayable)
	}
	ref := m.Reference()
	term, _ := m.Get("62", "07")
	if ref == "" || term == "" {
		return WalletPayment{}, fmt.Errorf("%w: no reference (62/05) or terminal label (62/07)", ErrNotPayable)
	}
	num, _ := m.Get("53")
	name, _ := m.Get("59")
	st, prev, dup := s.cfg.Journal.claim(KindWallet, term, ref)
	if dup {
		return WalletPayment{Status: "paid", Reference: ref, Terminal: term, Amount: prev.Amount, Currency: cur, AuthCode: prev.AuthCode, Merchant: name}, ErrAlreadyPaid
	}
	seq := s.seq.Add(1)
	rec := Record{Time: time.Now().UTC(), Kind: KindWallet, MTI: "", STAN: "", TerminalID: term, Amount: amount,
		Currency: num, TransactionID: ref, ResponseCode: uplink.RCApproved, AuthCode: fmt.Sprintf("W%05d", seq%100000),
		QRFormat: string(qr.FormatMPM)}
	if err := s.cfg.Journal.Append(rec); err != nil {
		s.cfg.Journal.finish(KindWallet, term, ref, st, nil)
		return WalletPayment{}, err
	}
	s.cfg.Journal.finish(KindWallet, term, ref, st, &rec)
	return WalletPayment{Status: "paid", Reference: ref, Terminal: term, Amount: amount, Currency: cur, AuthCode: rec.AuthCode, Merchant: name}, nil
}

// WalletHandler is the wallet provider's side: POST /wallet/pay with
// {"payload": "..."} pays a merchant-presented code (PayQR). Answers the
// WalletPayment, or {"code","message"} with 409 when already paid and 422
// when the code cannot be paid. Serve it over the same mutual TLS as the
// ISO 8583 port (acqsim serve --wallet-listen).
func (s *Server) WalletHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wallet/pay", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Payload string `json:"payload"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&req); err != nil {
			walletError(w, http.StatusBadRequest, "bad_request", "body must be {\"payload\": \"...\"}")
			return
		}
		p, err := s.PayQR(req.Payload)
		switch {
		case errors.Is(err, ErrAlreadyPaid):
			walletError(w, http.StatusConflict, "already_paid", err.Error())
		case errors.Is(err, ErrNotPayable):
			walletError(w, http.StatusUnprocessableEntity, "not_payable", err.Error())
		case err != nil:
			walletError(w, http.StatusInternalServerError, "internal", err.Error())
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(p)
		}
	})
	return mux
}

func walletError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// checkQR applies the QR rules to a request carrying field 62, before the
// usual authorisation. It returns a response code to answer with at once,
// or "" to go on. pending means: answer without journalling (the terminal
// asks again).
func (s *Server) checkQR(m *uplink.Message) (rc string, pending bool) {
	switch m.EntryMode {
	case uplink.EntryQRMerchant:
		mpm, err := qr.DecodeMPM(m.QR)
		if err != nil || mpm.Reference() == "" {
			return uplink.RCInvalidCode, false
		}
		term, ok := mpm.Get("62", "07")
		if !ok {
			term = m.TerminalID
		}
		paid, ok := s.cfg.Journal.lookup(KindWallet, term, mpm.Reference())
		if !ok {
			return uplink.RCPending, true
		}
		if paid.Amount != m.Amount || paid.Currency != m.Currency {
			return uplink.RCInvalidTxn, false
		}
		return "", false
	case uplink.EntryQR:
		switch f := qr.Classify(m.QR); {
		case f == qr.FormatCPM:
			if _, err := qr.DecodeCPM(m.QR); err != nil {
				return uplink.RCInvalidCode, false
			}
		case f.Wallet():
			// A wallet payment code pays once: a second transaction with
			// the same code is refused.
			h := sha256.Sum256([]byte(m.QR))
			if prev, loaded := s.usedCodes.LoadOrStore(h, m.TerminalID+"\x00"+m.TransactionID); loaded && prev != m.TerminalID+"\x00"+m.TransactionID {
				return uplink.RCDoNotHonour, false
			}
		default:
			return uplink.RCInvalidCode, false
		}
	}
	return "", false
}
