package frame

import (
	"errors"
	"fmt"

	"posagent/emv/tlv"
)

// Cmd is a message command byte.
type Cmd byte

const (
	CmdInfo    Cmd = 0x01
	CmdPoll    Cmd = 0x02
	CmdAPDU    Cmd = 0x03
	CmdRelease Cmd = 0x04
	CmdUI      Cmd = 0x05
)

func (c Cmd) String() string {
	switch c {
	case CmdInfo:
		return "INFO"
	case CmdPoll:
		return "POLL"
	case CmdAPDU:
		return "APDU"
	case CmdRelease:
		return "RELEASE"
	case CmdUI:
		return "UI"
	}
	return fmt.Sprintf("CMD %02X", byte(c))
}

// Status is the second byte of a response.
type Status byte

const (
	StatusOK         Status = 0x00
	StatusNoCard     Status = 0x01
	StatusCardLost   Status = 0x02
	StatusCardError  Status = 0x03
	StatusUnknownCmd Status = 0x04
	StatusBadParam   Status = 0x05
	StatusAborted    Status = 0x06
	StatusBatteryLow Status = 0x07
	StatusNoSession  Status = 0x08
	StatusCollision  Status = 0x09
	responseBit             = 0x80
	maxDisplayText          = 32
	maxUID                  = 10
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNoCard:
		return "no card"
	case StatusCardLost:
		return "card lost"
	case StatusCardError:
		return "card transmission error"
	case StatusUnknownCmd:
		return "unknown command"
	case StatusBadParam:
		return "bad parameter"
	case StatusAborted:
		return "aborted"
	case StatusBatteryLow:
		return "battery too low"
	case StatusNoSession:
		return "no card session"
	case StatusCollision:
		return "more than one card"
	}
	return fmt.Sprintf("status %02X", byte(s))
}

// TLV tags of message data.
const (
	TagModel    tlv.Tag = 0xDF01
	TagFirmware tlv.Tag = 0xDF02
	TagSerial   tlv.Tag = 0xDF03
	TagBattery  tlv.Tag = 0xDF04
	TagFlags    tlv.Tag = 0xDF05
	TagMaxAPDU  tlv.Tag = 0xDF06
	TagTimeout  tlv.Tag = 0xDF07
	TagCardType tlv.Tag = 0xDF10
	TagUID      tlv.Tag = 0xDF11
	TagATS      tlv.Tag = 0xDF12
	TagLED      tlv.Tag = 0xDF20
	TagBeep     tlv.Tag = 0xDF21
	TagText     tlv.Tag = 0xDF22
)

// ErrMessage is matched by every *MessageError.
var ErrMessage = errors.New("frame: malformed message")

// MessageError is a message (the INF of a chain) that cannot be read.
type MessageError struct {
	Cmd    Cmd
	Field  string // TLV tag or part, empty for the whole message
	Reason string
	Err    error // cause, e.g. a *tlv.SyntaxError
}

func (e *MessageError) Error() string {
	s := "frame: " + e.Cmd.String() + " message"
	if e.Field != "" {
		s += " field " + e.Field
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrMessage) true.
func (e *MessageError) Is(target error) bool { return target == ErrMessage }
func (e *MessageError) Unwrap() error        { return e.Err }

// Request is a command message.
type Request struct {
	Cmd  Cmd
	Data []byte
}

// Bytes encodes the request.
func (r Request) Bytes() []byte { return append([]byte{byte(r.Cmd)}, r.Data...) }

// ParseRequest reads a command message. Data aliases b.
func ParseRequest(b []byte) (Request, error) {
	if len(b) == 0 {
		return Request{}, &MessageError{Reason: "empty"}
	}
	if b[0]&responseBit != 0 {
		return Request{}, &MessageError{Cmd: Cmd(b[0]), Reason: "a response where a command was expected"}
	}
	return Request{Cmd: Cmd(b[0]), Data: b[1:]}, nil
}

// Response is a response message.
type Response struct {
	Cmd    Cmd // the command answered (without the response bit)
	Status Status
	Data   []byte
}

// Bytes encodes the response.
func (r Response) Bytes() []byte {
	return append([]byte{byte(r.Cmd) | responseBit, byte(r.Status)}, r.Data...)
}

// ParseResponse reads the response to cmd. Data aliases b.
func ParseResponse(b []byte, cmd Cmd) (Response, error) {
	switch {
	case len(b) < 2:
		return Response{}, &MessageError{Cmd: cmd, Reason: fmt.Sprintf("response of %d bytes (want command and status)", len(b))}
	case b[0] != byte(cmd)|responseBit:
		return Response{}, &MessageError{Cmd: cmd, Reason: fmt.Sprintf("response byte %02X does not answer %s", b[0], cmd)}
	}
	return Response{Cmd: cmd, Status: Status(b[1]), Data: b[2:]}, nil
}

// parseTLV decodes message data; unknown tags are ignored by the callers.
func parseTLV(cmd Cmd, b []byte) ([]tlv.TLV, error) {
	list, err := tlv.Parse(b)
	if err != nil {
		return nil, &MessageError{Cmd: cmd, Reason: "bad TLV", Err: err}
	}
	return list, nil
}

// fixed returns the value of tag, which must be n bytes long when present.
func fixed(cmd Cmd, list []tlv.TLV, tag tlv.Tag, n int) ([]byte, bool, error) {
	o, ok := tlv.Find(list, tag)
	if !ok {
		return nil, false, nil
	}
	if len(o.Value) != n {
		return nil, false, &MessageError{Cmd: cmd, Field: tag.String(), Reason: fmt.Sprintf("%d bytes, want %d", len(o.Value), n)}
	}
	return o.Value, true, nil
}

func text(cmd Cmd, list []tlv.TLV, tag tlv.Tag, max int) (string, error) {
	v := tlv.Value(list, tag)
	if len(v) > max {
		return "", &MessageError{Cmd: cmd, Field: tag.String(), Reason: fmt.Sprintf("%d bytes, at most %d", len(v), max)}
	}
	for _, c := range v {
		if c < 0x20 || c > 0x7E {
			return "", &MessageError{Cmd: cmd, Field: tag.String(), Reason: fmt.Sprintf("byte %02X is not printable ASCII", c)}
		}
	}
	return string(v), nil
}

func u16(b []byte) int { return int(b[0])<<8 | int(b[1]) }

func put16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }

// Info is the INFO response: what the device says about itself.
type Info struct {
	Model, Firmware, Serial string
	Battery                 int // percent, 0..100
	Charging, BatteryLow    bool
	MaxAPDU                 int // 0: not said
}

// Flag bits of TagFlags.
const (
	FlagCharging   = 0x01
	FlagBatteryLow = 0x02
)

// Bytes encodes the INFO response data.
func (i Info) Bytes() []byte {
	var b []byte
	b = tlv.Append(b, TagModel, []byte(i.Model))
	b = tlv.Append(b, TagFirmware, []byte(i.Firmware))
	b = tlv.Append(b, TagSerial, []byte(i.Serial))
	b = tlv.Append(b, TagBattery, []byte{byte(i.Battery)})
	var f byte
	if i.Charging {
		f |= FlagCharging
	}
	if i.BatteryLow {
		f |= FlagBatteryLow
	}
	b = tlv.Append(b, TagFlags, []byte{f})
	if i.MaxAPDU > 0 {
		b = tlv.Append(b, TagMaxAPDU, put16(i.MaxAPDU))
	}
	return b
}

// maxInfoText bounds the model, firmware and serial strings.
const maxInfoText = 64

// ParseInfo reads INFO response data.
func ParseInfo(b []byte) (Info, error) {
	list, err := parseTLV(CmdInfo, b)
	if err != nil {
		return Info{}, err
	}
	var i Info
	for _, f := range []struct {
		tag tlv.Tag
		dst *string
	}{{TagModel, &i.Model}, {TagFirmware, &i.Firmware}, {TagSerial, &i.Serial}} {
		if *f.dst, err = text(CmdInfo, list, f.tag, maxInfoText); err != nil {
			return Info{}, err
		}
	}
	if i.Model == "" {
		return Info{}, &MessageError{Cmd: CmdInfo, Field: TagModel.String(), Reason: "missing"}
	}
	v, ok, err := fixed(CmdInfo, list, TagBattery, 1)
	if err != nil {
		return Info{}, err
	}
	if !ok {
		return Info{}, &MessageError{Cmd: CmdInfo, Field: TagBattery.String(), Reason: "missing"}
	}
	if v[0] > 100 {
		return Info{}, &MessageError{Cmd: CmdInfo, Field: TagBattery.String(), Reason: fmt.Sprintf("%d%% is above 100", v[0])}
	}
	i.Battery = int(v[0])
	if v, ok, err = fixed(CmdInfo, list, TagFlags, 1); err != nil {
		return Info{}, err
	} else if ok {
		i.Charging, i.BatteryLow = v[0]&FlagCharging != 0, v[0]&FlagBatteryLow != 0
	}
	if v, ok, err = fixed(CmdInfo, list, TagMaxAPDU, 2); err != nil {
		return Info{}, err
	} else if ok {
		i.MaxAPDU = u16(v)
	}
	return i, nil
}

// Poll is the POLL request.
type Poll struct{ TimeoutMS int } // 0: the device's default; at most 65535

// Bytes encodes the POLL request data.
func (p Poll) Bytes() []byte {
	t := min(max(p.TimeoutMS, 0), 0xFFFF)
	return tlv.Encode(TagTimeout, put16(t))
}

// ParsePoll reads POLL request data.
func ParsePoll(b []byte) (Poll, error) {
	list, err := parseTLV(CmdPoll, b)
	if err != nil {
		return Poll{}, err
	}
	v, ok, err := fixed(CmdPoll, list, TagTimeout, 2)
	if err != nil || !ok {
		return Poll{}, err
	}
	return Poll{TimeoutMS: u16(v)}, nil
}

// Card types of TagCardType.
const (
	CardTypeA byte = 1 // ISO/IEC 14443-4 type A
	CardTypeB byte = 2 // ISO/IEC 14443-4 type B
)

// CardInfo is the POLL response data: the card found.
type CardInfo struct {
	Type byte
	UID  []byte
	ATS  []byte
}

// Bytes encodes the POLL response data.
func (c CardInfo) Bytes() []byte {
	b := tlv.Append(nil, TagCardType, []byte{c.Type})
	b = tlv.Append(b, TagUID, c.UID)
	return tlv.Append(b, TagATS, c.ATS)
}

// ParseCardInfo reads POLL response data. UID and ATS are copies.
func ParseCardInfo(b []byte) (CardInfo, error) {
	list, err := parseTLV(CmdPoll, b)
	if err != nil {
		return CardInfo{}, err
	}
	v, ok, err := fixed(CmdPoll, list, TagCardType, 1)
	if err != nil {
		return CardInfo{}, err
	}
	if !ok || (v[0] != CardTypeA && v[0] != CardTypeB) {
		return CardInfo{}, &MessageError{Cmd: CmdPoll, Field: TagCardType.String(), Reason: "missing or not type A/B"}
	}
	c := CardInfo{Type: v[0]}
	uid, ok := tlv.Find(list, TagUID)
	if !ok || (len(uid.Value) != 4 && len(uid.Value) != 7 && len(uid.Value) != maxUID) {
		return CardInfo{}, &MessageError{Cmd: CmdPoll, Field: TagUID.String(), Reason: "missing or not 4, 7 or 10 bytes"}
	}
	c.UID = append([]byte(nil), uid.Value...)
	c.ATS = append([]byte(nil), tlv.Value(list, TagATS)...)
	return c, nil
}

// Colour of the LED.
type Colour byte

const (
	LEDOff Colour = iota
	LEDGreen
	LEDRed
	LEDBlue
	LEDYellow
)

// UI is the UI request: any of LED, beep and display text.
type UI struct {
	LED    Colour
	LEDMS  int // 0: leave the LED alone
	BeepMS int // 0: no beep
	Text   string
	// SetText writes Text even when empty (clears the display).
	SetText bool
}

// Bytes encodes the UI request data. Text longer than 32 characters or not
// printable ASCII is refused by the device; the host checks with ParseUI.
func (u UI) Bytes() []byte {
	var b []byte
	if u.LEDMS > 0 {
		b = tlv.Append(b, TagLED, append([]byte{byte(u.LED)}, put16(min(u.LEDMS, 0xFFFF))...))
	}
	if u.BeepMS > 0 {
		b = tlv.Append(b, TagBeep, put16(min(u.BeepMS, 0xFFFF)))
	}
	if u.Text != "" || u.SetText {
		b = tlv.Append(b, TagText, []byte(u.Text))
	}
	return b
}

// ParseUI reads UI request data.
func ParseUI(b []byte) (UI, error) {
	list, err := parseTLV(CmdUI, b)
	if err != nil {
		return UI{}, err
	}
	var u UI
	if v, ok, err := fixed(CmdUI, list, TagLED, 3); err != nil {
		return UI{}, err
	} else if ok {
		if Colour(v[0]) > LEDYellow {
			return UI{}, &MessageError{Cmd: CmdUI, Field: TagLED.String(), Reason: fmt.Sprintf("colour %d", v[0])}
		}
		u.LED, u.LEDMS = Colour(v[0]), u16(v[1:])
	}
	if v, ok, err := fixed(CmdUI, list, TagBeep, 2); err != nil {
		return UI{}, err
	} else if ok {
		u.BeepMS = u16(v)
	}
	if _, ok := tlv.Find(list, TagText); ok {
		u.SetText = true
		if u.Text, err = text(CmdUI, list, TagText, maxDisplayText); err != nil {
			return UI{}, err
		}
	}
	return u, nil
}
