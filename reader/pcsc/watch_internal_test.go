package pcsc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ebfe/scard"
)

// TestWatcherDiff feeds reader listings and states to the watcher's diff
// logic (no pcscd needed) and checks the events it reports.
func TestWatcherDiff(t *testing.T) {
	type step struct {
		list  []string     // a new listing, when not nil
		state *ReaderState // a reader's new state
	}
	card := func(r string, atr ...byte) step { return step{state: &ReaderState{Reader: r, Present: true, ATR: atr}} }
	empty := func(r string) step { return step{state: &ReaderState{Reader: r}} }
	list := func(names ...string) step { return step{list: append([]string{}, names...)} }
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{"first listing waits for state", []step{list("A", "B"), empty("A"), card("B", 0x3B)},
			"reader-added A -|reader-added B +3B"},
		{"insert and remove", []step{list("A"), empty("A"), card("A", 0x3B), empty("A")},
			"reader-added A -|card-inserted A +3B|card-removed A -"},
		{"same card again is no event", []step{list("A"), card("A", 0x3B), card("A", 0x3B)},
			"reader-added A +3B"},
		{"card swapped between polls", []step{list("A"), card("A", 0x3B), card("A", 0x3F)},
			"reader-added A +3B|card-removed A -|card-inserted A +3F"},
		{"reader unplugged", []step{list("A", "B"), empty("A"), empty("B"), list("B")},
			"reader-added A -|reader-added B -|reader-removed A -"},
		{"reader gone before its first state", []step{list("A"), list()}, ""},
		{"state of an unknown reader ignored", []step{list("A"), card("Z", 0x3B)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			w := &watcher{known: map[string]ReaderState{}, pending: map[string]bool{}, flags: map[string]scard.StateFlag{},
				fn: func(e Event) bool {
					s := fmt.Sprintf("%s %s -", e.Kind, e.Reader)
					if e.Present {
						s = fmt.Sprintf("%s %s +%X", e.Kind, e.Reader, e.ATR)
					}
					got = append(got, s)
					return true
				}}
			for _, st := range tc.steps {
				if st.list != nil {
					w.syncReaders(st.list)
				} else {
					w.cardChange(*st.state)
				}
			}
			if g := strings.Join(got, "|"); g != tc.want {
				t.Errorf("events\n got %s\nwant %s", g, tc.want)
			}
		})
	}
}

func TestStateOf(t *testing.T) {
	tests := []struct {
		flags   scard.StateFlag
		present bool
		inUse   bool
	}{
		{scard.StateEmpty, false, false},
		{scard.StatePresent, true, false},
		{scard.StatePresent | scard.StateMute, false, false}, // a card that does not answer reset
		{scard.StatePresent | scard.StateExclusive, true, true},
	}
	for _, tc := range tests {
		s := stateOf(scard.ReaderState{Reader: "R", EventState: tc.flags, Atr: []byte{0x3B}})
		if s.Present != tc.present || s.InUse != tc.inUse || (s.ATR != nil) != tc.present {
			t.Errorf("stateOf(%#x) = %+v", tc.flags, s)
		}
	}
}
