package uplink

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/field"

	"posagent/emv/pan"
	"posagent/emv/tlv"
)

// Message is the flat view of one ISO 8583 message, restricted to the fields
// the uplink uses (docs/iso8583.md). Empty strings and nil slices are
// absent fields. Its String masks the PAN and omits track 2, ICC data and
// the QR payload.
type Message struct {
	MTI            string
	PAN            pan.PAN     // 2
	ProcessingCode string      // 3
	Amount         int64       // 4 (present when HasAmount)
	HasAmount      bool        //
	Transmission   string      // 7  MMDDhhmmss
	STAN           string      // 11
	LocalTime      string      // 12 hhmmss
	LocalDate      string      // 13 MMDD
	Expiry         string      // 14 YYMM
	MCC            string      // 18
	EntryMode      string      // 22
	PSN            string      // 23
	Condition      string      // 25
	AcquirerID     string      // 32
	Track2         *pan.Track2 // 35
	RRN            string      // 37
	AuthCode       string      // 38
	ResponseCode   string      // 39
	TerminalID     string      // 41
	MerchantID     string      // 42
	Currency       string      // 49
	ICC            []byte      // 55
	TransactionID  string      // 59
	QR             string      // 62
	NetworkCode    string      // 70
	Original       string      // 90
}

// String describes the message without sensitive data.
func (m *Message) String() string {
	var b strings.Builder
	b.WriteString(m.MTI)
	add := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=" + v)
		}
	}
	add("stan", m.STAN)
	add("tid", m.TerminalID)
	add("txn", m.TransactionID)
	if !m.PAN.IsZero() {
		add("pan", m.PAN.String())
	}
	if m.HasAmount {
		add("amount", strconv.FormatInt(m.Amount, 10))
	}
	add("cur", m.Currency)
	add("rc", m.ResponseCode)
	add("nmi", m.NetworkCode)
	if len(m.ICC) > 0 {
		add("icc", fmt.Sprintf("%d bytes", len(m.ICC)))
	}
	if m.QR != "" {
		add("qr", fmt.Sprintf("%d chars", len(m.QR)))
	}
	return b.String()
}

// GoString masks as String does.
func (m *Message) GoString() string { return m.String() }

// LogValue makes slog print the masked form.
func (m *Message) LogValue() slogValue { return slogString(m.String()) }

// MTI classes and functions (ISO 8583:1987).
const (
	MTIAuthRequest       = "0100"
	MTIAuthResponse      = "0110"
	MTIFinancialRequest  = "0200"
	MTIFinancialResponse = "0210"
	MTIAdvice            = "0220"
	MTIAdviceRepeat      = "0221"
	MTIAdviceResponse    = "0230"
	MTIReversal          = "0400"
	MTIReversalRepeat    = "0401"
	MTIReversalResponse  = "0410"
	MTIReversalAdvice    = "0420"
	MTIReversalAdvRepeat = "0421"
	MTIReversalAdvResp   = "0430"
	MTINetwork           = "0800"
	MTINetworkResponse   = "0810"
)

// Network management information codes (field 70).
const (
	NetSignOn  = "001"
	NetSignOff = "002"
	NetEcho    = "301"
)

// ResponseMTI returns the response MTI for a request MTI (0100 -> 0110,
// 0221 -> 0230, 0401 -> 0410), or "" when mti is not a request.
func ResponseMTI(mti string) string {
	if !validMTI(mti) {
		return ""
	}
	switch mti[2:] {
	case "00", "01":
		return mti[:2] + "10"
	case "20", "21":
		return mti[:2] + "30"
	}
	return ""
}

// IsResponseMTI reports whether mti is a response (function 10 or 30).
func IsResponseMTI(mti string) bool {
	return validMTI(mti) && (mti[2:] == "10" || mti[2:] == "30")
}

func validMTI(mti string) bool {
	return len(mti) == 4 && digits(mti)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Codec packs and unpacks Messages under a spec. It is safe for concurrent use.
type Codec struct {
	spec *iso8583.MessageSpec
}

// NewCodec returns a codec for spec (nil = DefaultSpec()).
func NewCodec(spec *iso8583.MessageSpec) (*Codec, error) {
	if spec == nil {
		spec = DefaultSpec()
	}
	if err := CheckSpec(spec); err != nil {
		return nil, err
	}
	return &Codec{spec: spec}, nil
}

// Spec returns the codec's message spec.
func (c *Codec) Spec() *iso8583.MessageSpec { return c.spec }

// EncodeError means a Message cannot be packed (a value too long for its
// field, a bad character). Sensitive values are not included.
type EncodeError struct {
	MTI   string
	Field int
	Err   error
}

func (e *EncodeError) Error() string {
	if e.Field >= 0 {
		if sensitiveField(e.Field) {
			return fmt.Sprintf("uplink: packing %s: field %d does not fit the spec", e.MTI, e.Field)
		}
		return fmt.Sprintf("uplink: packing %s: field %d: %v", e.MTI, e.Field, e.Err)
	}
	return fmt.Sprintf("uplink: packing %s: %v", e.MTI, e.Err)
}

// Unwrap returns ErrInvalid and the cause.
func (e *EncodeError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Encode packs m (without the network length header).
func (c *Codec) Encode(m *Message) ([]byte, error) {
	if !validMTI(m.MTI) {
		return nil, &EncodeError{MTI: m.MTI, Field: 0, Err: errors.New("MTI must be 4 digits")}
	}
	msg := iso8583.NewMessage(c.spec)
	msg.MTI(m.MTI)
	set := func(id int, v string) error {
		if v == "" {
			return nil
		}
		if err := msg.Field(id, v); err != nil {
			return &EncodeError{MTI: m.MTI, Field: id, Err: err}
		}
		return nil
	}
	var t2 string
	if m.Track2 != nil {
		t2 = strings.ReplaceAll(m.Track2.Raw(), "D", "=")
	}
	var panDigits string
	if !m.PAN.IsZero() {
		panDigits = m.PAN.Digits()
	}
	var amount string
	if m.HasAmount {
		if m.Amount < 0 {
			return nil, &EncodeError{MTI: m.MTI, Field: FieldAmount, Err: errors.New("negative amount")}
		}
		amount = strconv.FormatInt(m.Amount, 10)
	}
	for _, f := range []struct {
		id int
		v  string
	}{
		{FieldPAN, panDigits}, {FieldProcessingCode, m.ProcessingCode}, {FieldAmount, amount},
		{FieldTransmission, m.Transmission}, {FieldSTAN, m.STAN}, {FieldLocalTime, m.LocalTime},
		{FieldLocalDate, m.LocalDate}, {FieldExpiry, m.Expiry}, {FieldMCC, m.MCC},
		{FieldEntryMode, m.EntryMode}, {FieldPSN, m.PSN}, {FieldCondition, m.Condition},
		{FieldAcquirer, m.AcquirerID}, {FieldTrack2, t2}, {FieldRRN, m.RRN},
		{FieldAuthCode, m.AuthCode}, {FieldResponseCode, m.ResponseCode},
		{FieldTerminalID, m.TerminalID}, {FieldMerchantID, m.MerchantID},
		{FieldCurrency, m.Currency}, {FieldTransactionID, m.TransactionID}, {FieldQR, m.QR},
		{FieldNetworkCode, m.NetworkCode}, {FieldOriginal, m.Original},
	} {
		if err := set(f.id, f.v); err != nil {
			return nil, err
		}
	}
	if len(m.ICC) > 0 {
		if err := msg.BinaryField(FieldICC, m.ICC); err != nil {
			return nil, &EncodeError{MTI: m.MTI, Field: FieldICC, Err: err}
		}
	}
	b, err := msg.Pack()
	if err != nil {
		id := -1
		return nil, &EncodeError{MTI: m.MTI, Field: id, Err: sanitizePackError(err, m)}
	}
	return b, nil
}

// sanitizePackError keeps moov's message unless it may echo a sensitive value.
func sanitizePackError(err error, m *Message) error {
	s := err.Error()
	for _, secret := range sensitiveStrings(m) {
		if secret != "" && strings.Contains(s, secret) {
			return errors.New("a field does not fit the spec")
		}
	}
	return err
}

func sensitiveStrings(m *Message) []string {
	var out []string
	if !m.PAN.IsZero() {
		out = append(out, m.PAN.Digits())
	}
	if m.Track2 != nil {
		out = append(out, m.Track2.Raw(), strings.ReplaceAll(m.Track2.Raw(), "D", "="))
	}
	if m.QR != "" {
		out = append(out, m.QR)
	}
	if len(m.ICC) > 0 {
		out = append(out, fmt.Sprintf("%X", m.ICC))
	}
	return out
}

// Decode unpacks b, hostile bytes from the network. Bad bytes are a
// *DecodeError; Decode never panics.
func (c *Codec) Decode(b []byte) (m *Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &DecodeError{Field: -1, Detail: "decoder failure on hostile input"}
		}
	}()
	if len(b) < 4 {
		return nil, &DecodeError{Field: -1, Detail: fmt.Sprintf("%d bytes, shorter than an MTI", len(b))}
	}
	msg := iso8583.NewMessage(c.spec)
	if err := msg.Unpack(b); err != nil {
		return nil, unpackError(err)
	}
	// moov ignores bytes after the last field: a length the bitmap does not
	// account for is an error here.
	repacked, err := msg.Pack()
	if err != nil {
		return nil, &DecodeError{Field: -1, Detail: "does not repack"}
	}
	if len(repacked) != len(b) {
		return nil, &DecodeError{Field: -1, Detail: fmt.Sprintf("length %d, but the bitmap's fields take %d", len(b), len(repacked))}
	}
	if !bytes.Equal(repacked, b) {
		// e.g. a sign or blanks in a numeric field: only canonical
		// encodings are accepted, so what is journalled is what was sent.
		i := 0
		for i < len(b) && b[i] == repacked[i] {
			i++
		}
		return nil, &DecodeError{Field: -1, Detail: fmt.Sprintf("non-canonical encoding at byte %d", i)}
	}
	return fromISO(msg)
}

func unpackError(err error) *DecodeError {
	var ue *iso8583errors.UnpackError
	id := -1
	if errors.As(err, &ue) {
		if n, perr := strconv.Atoi(ue.FieldID); perr == nil {
			id = n
		}
		err = ue.Err // drop RawMessage: never keep the raw bytes around
	}
	de := &DecodeError{Field: id, Detail: "does not unpack"}
	if !sensitiveField(id) {
		de.Err = errors.New(err.Error())
	}
	return de
}

func fromISO(msg *iso8583.Message) (*Message, error) {
	m := &Message{}
	for id, f := range msg.GetFields() {
		if id < 2 {
			continue
		}
		if b, berr := f.Bytes(); berr != nil || len(b) == 0 {
			if _, numeric := f.(*field.Numeric); !numeric {
				return nil, &DecodeError{Field: id, Detail: "present in the bitmap but empty"}
			}
		}
	}
	var err error
	get := func(id int) string {
		if err != nil {
			return ""
		}
		f := msg.GetField(id)
		if f == nil {
			return ""
		}
		var s string
		s, err = f.String()
		if err != nil {
			err = &DecodeError{Field: id, Detail: "unreadable value"}
		}
		return s
	}
	m.MTI = get(0)
	if err == nil && !validMTI(m.MTI) {
		return nil, &DecodeError{Field: 0, Detail: "MTI is not 4 digits"}
	}
	if s := get(FieldPAN); s != "" {
		p, perr := pan.Parse(s)
		if perr != nil {
			return nil, &DecodeError{Field: FieldPAN, Detail: "not a PAN (8-19 digits)"}
		}
		m.PAN = p
	}
	m.ProcessingCode = get(FieldProcessingCode)
	if f, ok := msg.GetField(FieldAmount).(*field.Numeric); ok && f != nil {
		m.HasAmount = true
		m.Amount = f.Value()
		if m.Amount < 0 {
			return nil, &DecodeError{Field: FieldAmount, Detail: "negative amount"}
		}
	} else if msg.GetField(FieldAmount) != nil {
		// A spec variant may define field 4 as a String.
		s := get(FieldAmount)
		v, perr := strconv.ParseInt(strings.TrimLeft(s, "0")+"0", 10, 64)
		if perr != nil || !digits(s) {
			return nil, &DecodeError{Field: FieldAmount, Detail: "amount is not digits"}
		}
		m.HasAmount, m.Amount = true, v/10
	}
	m.Transmission = get(FieldTransmission)
	m.STAN = get(FieldSTAN)
	m.LocalTime = get(FieldLocalTime)
	m.LocalDate = get(FieldLocalDate)
	m.Expiry = get(FieldExpiry)
	m.MCC = get(FieldMCC)
	m.EntryMode = get(FieldEntryMode)
	m.PSN = get(FieldPSN)
	m.Condition = get(FieldCondition)
	m.AcquirerID = get(FieldAcquirer)
	if s := get(FieldTrack2); s != "" {
		t2, terr := parseTrack2Field(s)
		if terr != nil {
			return nil, &DecodeError{Field: FieldTrack2, Detail: "not track 2 data"}
		}
		m.Track2 = &t2
	}
	m.RRN = get(FieldRRN)
	m.AuthCode = get(FieldAuthCode)
	m.ResponseCode = get(FieldResponseCode)
	m.TerminalID = get(FieldTerminalID)
	m.MerchantID = get(FieldMerchantID)
	m.Currency = get(FieldCurrency)
	if f := msg.GetField(FieldICC); f != nil {
		v, berr := f.Bytes()
		if berr != nil {
			return nil, &DecodeError{Field: FieldICC, Detail: "unreadable value"}
		}
		if len(v) > 0 {
			if _, perr := tlv.Parse(v); perr != nil {
				return nil, &DecodeError{Field: FieldICC, Detail: "not EMV TLV data"}
			}
			m.ICC = append([]byte(nil), v...)
		}
	}
	m.TransactionID = get(FieldTransactionID)
	m.QR = get(FieldQR)
	m.NetworkCode = get(FieldNetworkCode)
	m.Original = get(FieldOriginal)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		id   int
		v    string
		want func(string) bool
		what string
	}{
		{FieldSTAN, m.STAN, digits, "STAN is not digits"},
		{FieldResponseCode, m.ResponseCode, alnum, "response code is not alphanumeric"},
		{FieldCurrency, m.Currency, digits, "currency is not numeric"},
		{FieldProcessingCode, m.ProcessingCode, digits, "processing code is not digits"},
		{FieldTerminalID, m.TerminalID, printable, "terminal id is not printable"},
		{FieldMerchantID, m.MerchantID, printable, "merchant id is not printable"},
		{FieldTransactionID, m.TransactionID, printable, "transaction id is not printable"},
		{FieldRRN, m.RRN, printable, "RRN is not printable"},
		{FieldAuthCode, m.AuthCode, printable, "auth code is not printable"},
		{FieldNetworkCode, m.NetworkCode, digits, "network code is not digits"},
		{FieldQR, m.QR, printable, "QR data is not printable"},
	} {
		if f.v != "" && !f.want(f.v) {
			return nil, &DecodeError{Field: f.id, Detail: f.what}
		}
	}
	return m, nil
}

// parseTrack2Field reads field 35 (ASCII digits, '=' or 'D' separator).
func parseTrack2Field(s string) (pan.Track2, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, "=", "D"))
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == 'D') {
			return pan.Track2{}, pan.ErrTrack2
		}
	}
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return pan.Track2{}, pan.ErrTrack2
	}
	return pan.ParseTrack2(b)
}

// Describe writes a field-by-field description of raw (a packed message)
// with the moov-io/iso8583 describer. The PAN is masked to first 6 + last 4,
// track 2 shows only the masked PAN, field 55 and the QR payload show only
// their length.
func Describe(w io.Writer, spec *iso8583.MessageSpec, raw []byte) error {
	if spec == nil {
		spec = DefaultSpec()
	}
	msg := iso8583.NewMessage(spec)
	if err := msg.Unpack(raw); err != nil {
		return unpackError(err)
	}
	var buf bytes.Buffer
	if err := iso8583.Describe(msg, &buf, DescribeFilters()...); err != nil {
		return fmt.Errorf("uplink: describing message: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// DescribeFilters are moov-io/iso8583's DefaultFilters tightened for this
// project: PAN first 6 + last 4, track 2 without expiry or discretionary
// data, ICC data and QR payload by length only.
func DescribeFilters() []iso8583.FieldFilter {
	lengthOnly := func(in string, _ field.Field) string { return fmt.Sprintf("(%d chars hidden)", len(in)) }
	return append(iso8583.DefaultFilters(),
		iso8583.FilterField(strconv.Itoa(FieldPAN), func(in string, _ field.Field) string { return pan.Mask(in) }),
		iso8583.FilterField(strconv.Itoa(FieldTrack2), func(in string, _ field.Field) string {
			if i := strings.IndexAny(in, "=D"); i >= 0 {
				return pan.Mask(in[:i]) + "=****"
			}
			return "(hidden)"
		}),
		iso8583.FilterField(strconv.Itoa(FieldICC), lengthOnly),
		iso8583.FilterField(strconv.Itoa(FieldQR), lengthOnly),
	)
}
