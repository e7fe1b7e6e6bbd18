package qrscan

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"posagent/qr/scan"
)

func TestClassify(t *testing.T) {
	cpm := base64.StdEncoding.EncodeToString([]byte{0x85, 5, 'C', 'P', 'V', '0', '1', 0x61, 3, 0x50, 1, 'X'})
	for _, c := range []struct {
		code, want string
	}{
		{"134567890123456789", "wechat-pay"},
		{"281234567890123456", "alipay"},
		{"6212345678901234567", "unionpay"},
		{cpm, "emvco-cpm"},
	} {
		got, err := Classify(c.code)
		if err != nil || got != c.want {
			t.Errorf("Classify(%.20s) = %q, %v; want %q", c.code, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
		base64.StdEncoding.EncodeToString([]byte{0x85, 5, 'C', 'P', 'V', '0', '1'}),
		"https://example.com", "1234",
	} {
		if _, err := Classify(bad); !errors.Is(err, ErrNotConsumerCode) {
			t.Errorf("Classify(%.20s): %v", bad, err)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("error carries the code: %v", err)
		}
	}
}

// TestSerialInput: the engine's view of a serial barcode scanner on a real
// pseudo-terminal.
func TestSerialInput(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	sp, err := scan.OpenSerial(tty.Name(), scan.SerialOptions{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in := New("till-scanner", scan.NewTextScanner(sp, scan.Options{}))
	defer in.Close()
	if in.Name() != "till-scanner" {
		t.Fatal(in.Name())
	}
	go ptmx.Write([]byte("134567890123456789\r134567890123456789\r281234567890123456\r"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []string{"134567890123456789", "281234567890123456"} {
		got, err := in.Scan(ctx)
		if err != nil || got != want {
			t.Fatalf("Scan = %q, %v; want %q", got, err, want)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel2()
	if _, err := in.Scan(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan after the last code: %v", err)
	}
}

func TestEndOfSource(t *testing.T) {
	in := New("files", scan.NewFrameScanner(&scan.Files{}, scan.Options{Lossless: true}))
	if _, err := in.Scan(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("empty source: %v", err)
	}
}
