package serial

import (
	"time"

	bugst "go.bug.st/serial"
)

// Port is what the link needs of a serial port (go.bug.st/serial.Port has
// it). A read timeout returns n 0 and a nil error.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(t time.Duration) error
	Close() error
}

// openSerial opens a device path with go.bug.st/serial: 8N1 at baud, raw.
// DTR and RTS are asked for but not required: a pseudo-terminal refuses the
// modem ioctls, and RFCOMM ignores them.
func openSerial(path string, baud int) (Port, error) {
	p, err := bugst.Open(path, &bugst.Mode{BaudRate: baud, DataBits: 8, Parity: bugst.NoParity, StopBits: bugst.OneStopBit})
	if err != nil {
		return nil, err
	}
	_ = p.SetDTR(true)
	_ = p.SetRTS(true)
	_ = p.ResetInputBuffer()
	return p, nil
}
