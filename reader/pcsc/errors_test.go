package pcsc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

func TestConnectErrors(t *testing.T) {
	c := open(t)
	tests := []struct {
		name   string
		reader string
		want   error
	}{
		{"unknown reader", "No Such Reader 00 00", pcsc.ErrReaderGone},
		{"empty reader", pcsctest.Reader1, pcsc.ErrNoCard},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := c.Connect(context.Background(), tc.reader, pcsc.ConnectOptions{Contactless: true})
			if err == nil {
				k.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var oe *pcsc.OpError
			if !errors.As(err, &oe) || oe.Op != "connect" || oe.Reader != tc.reader || oe.Code == 0 {
				t.Errorf("err = %#v", err)
			}
			if !strings.Contains(err.Error(), tc.reader) {
				t.Errorf("error %q does not name the reader", err)
			}
		})
	}
}

func TestTransmitRefused(t *testing.T) {
	c := open(t)
	card := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)
	k, err := c.Connect(context.Background(), pcsctest.Reader0, pcsc.ConnectOptions{Contactless: true, MaxAPDU: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		apdu []byte
		want error
	}{
		{"empty", context.Background(), nil, pcsc.ErrAPDU},
		{"shorter than a header", context.Background(), []byte{0x00, 0xA4, 0x04}, pcsc.ErrAPDU},
		{"longer than the profile allows", context.Background(), append(pcsctest.MustHex(ppseCmd), 0x00), pcsc.ErrAPDU},
		{"context done", canceled, pcsctest.MustHex(ppseCmd), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := k.Transmit(tc.ctx, tc.apdu); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if card.Commands() != 0 {
		t.Errorf("%d refused commands reached the card", card.Commands())
	}
	if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppseCmd)); err != nil {
		t.Errorf("a 20-byte APDU within the limit: %v", err)
	}
	k.Close()
	if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppseCmd)); !errors.Is(err, pcsc.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	c.Close()
	if _, err := c.ListReaders(); !errors.Is(err, pcsc.ErrClosed) {
		t.Errorf("ListReaders after Close: %v", err)
	}
}
