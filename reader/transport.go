package reader

import (
	"context"
	"errors"
	"fmt"
)

// maxGetResponse bounds the GET RESPONSE chain so a card that keeps answering
// 61xx cannot hold the terminal forever.
const maxGetResponse = 32

// ErrTransportLoop means the card kept asking for another round (61xx or 6Cxx)
// past any sensible bound.
var ErrTransportLoop = errors.New("reader: card keeps answering 61xx/6Cxx")

// Exchange sends cmd to card applying the ISO 7816-4 case-4 transport rules:
// on 6Cxx it re-sends the same command with Le = xx (once); on 61xx it sends
// GET RESPONSE (INS C0) and concatenates the data until a final status word.
// It returns the response data and the final status word; a status word other
// than 9000 is returned as the SW, not as err. err is set only for transport
// failures and malformed responses.
func Exchange(ctx context.Context, card Card, cmd Command) ([]byte, SW, error) {
	raw, err := cmd.Bytes()
	if err != nil {
		return nil, 0, err
	}
	resp, err := card.Transmit(ctx, raw)
	if err != nil {
		return nil, 0, err
	}
	data, sw, err := SplitResponse(resp)
	if err != nil {
		return nil, 0, err
	}
	if sw.SW1() == 0x6C {
		cmd.Le, cmd.HasLe = int(sw.SW2()), true
		raw, _ = cmd.Bytes()
		if resp, err = card.Transmit(ctx, raw); err != nil {
			return nil, 0, err
		}
		if data, sw, err = SplitResponse(resp); err != nil {
			return nil, 0, err
		}
		if sw.SW1() == 0x6C {
			return nil, sw, fmt.Errorf("%w: %s after re-issue with Le", ErrTransportLoop, sw.Error())
		}
	}
	out := append([]byte(nil), data...)
	for i := 0; sw.SW1() == 0x61; i++ {
		if i == maxGetResponse {
			return nil, sw, ErrTransportLoop
		}
		raw, _ = GetResponse(sw.SW2()).Bytes()
		if resp, err = card.Transmit(ctx, raw); err != nil {
			return nil, 0, err
		}
		if data, sw, err = SplitResponse(resp); err != nil {
			return nil, 0, err
		}
		out = append(out, data...)
	}
	return out, sw, nil
}
