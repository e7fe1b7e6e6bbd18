package uplink

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, h := range []Header{HeaderBinary2, HeaderBCD2, HeaderASCII4} {
		for _, n := range []int{1, 9, 99, 100, 1234, MaxMessage} {
			t.Run(h.String(), func(t *testing.T) {
				msg := bytes.Repeat([]byte{0xAB}, n)
				f, err := h.AppendFrame(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				if len(f) != h.Size()+n {
					t.Fatalf("frame %d bytes, want %d", len(f), h.Size()+n)
				}
				got, err := h.ReadFrame(bytes.NewReader(f), nil)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("ReadFrame = %d bytes, %v", len(got), err)
				}
			})
		}
	}
}

func TestFrameHeaderEncodings(t *testing.T) {
	tests := []struct {
		h    Header
		n    int
		want []byte
	}{
		{HeaderBinary2, 300, []byte{0x01, 0x2C}},
		{HeaderBCD2, 1234, []byte{0x12, 0x34}},
		{HeaderASCII4, 56, []byte("0056")},
	}
	for _, tt := range tests {
		t.Run(tt.h.String(), func(t *testing.T) {
			f, err := tt.h.AppendFrame(nil, make([]byte, tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f[:tt.h.Size()], tt.want) {
				t.Fatalf("header %X, want %X", f[:tt.h.Size()], tt.want)
			}
		})
	}
}

func TestFrameErrors(t *testing.T) {
	tests := []struct {
		name    string
		h       Header
		in      []byte
		wantErr error
	}{
		{name: "declared length over max", h: HeaderBinary2, in: []byte{0xFF, 0xFF, 1, 2}, wantErr: ErrFrame},
		{name: "zero length", h: HeaderBinary2, in: []byte{0, 0}, wantErr: ErrFrame},
		{name: "BCD with hex nibble", h: HeaderBCD2, in: []byte{0x1A, 0x00}, wantErr: ErrFrame},
		{name: "ASCII not digits", h: HeaderASCII4, in: []byte("00x1abc"), wantErr: ErrFrame},
		{name: "closed inside the body", h: HeaderBinary2, in: []byte{0, 10, 1, 2, 3}, wantErr: io.ErrUnexpectedEOF},
		{name: "closed inside the header", h: HeaderASCII4, in: []byte("00"), wantErr: io.ErrUnexpectedEOF},
		{name: "closed between frames", h: HeaderBinary2, in: nil, wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.h.ReadFrame(bytes.NewReader(tt.in), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := HeaderBCD2.AppendFrame(nil, make([]byte, 10000)); !errors.Is(err, ErrFrame) {
		t.Fatalf("oversize AppendFrame: %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(byte(0), []byte{0, 3, 'a', 'b', 'c'})
	f.Add(byte(1), []byte{0x00, 0x02, 1, 2})
	f.Add(byte(2), []byte("0002ab"))
	f.Fuzz(func(t *testing.T, kind byte, in []byte) {
		h := Header(kind % 3)
		r := bytes.NewReader(in)
		for {
			msg, err := h.ReadFrame(r, nil)
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(msg) == 0 || len(msg) > MaxMessage {
				t.Fatalf("message of %d bytes", len(msg))
			}
		}
	})
}
