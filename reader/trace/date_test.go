package trace

import (
	"testing"
	"time"
)

func TestRecordedDate(t *testing.T) {
	const (
		// FCI with PDOL 9F66 04 9A 03 9F37 04.
		fciPDOL = "6F0DA50B9F38089F66049A039F37049000"
		// Record with CDOL1 9F02 06 9A 03 9F21 03.
		recCDOL = "700A8C089F02069A039F21039000"
	)
	for _, tc := range []struct {
		name  string
		trace []string
		want  time.Time
		ok    bool
	}{
		{"GPO with 9A in the PDOL",
			[]string{selVisa + "|" + fciPDOL, "80A800000D830B" + "36000000" + "270601" + "01020304" + "00|9000"},
			time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), true},
		{"GENERATE AC with date and time in CDOL1",
			[]string{selVisa + "|6F009000", gpoEmpty + "|9000", rr1 + "|" + recCDOL, "80AE80000C" + "000000001234" + "261125" + "223015" + "00|9000"},
			time.Date(2026, 11, 25, 22, 30, 15, 0, time.UTC), true},
		{"wildcard GPO carries nothing", []string{selVisa + "|" + fciPDOL, "*|9000"}, time.Time{}, false},
		{"GPO data not cut by the PDOL", []string{selVisa + "|" + fciPDOL, gpoEmpty + "|9000"}, time.Time{}, false},
		{"invalid date digits", []string{selVisa + "|" + fciPDOL, "80A800000D830B" + "36000000" + "271341" + "01020304" + "00|9000"}, time.Time{}, false},
		{"no DOL before the command", []string{"80A800000D830B" + "36000000" + "270601" + "01020304" + "00|9000"}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RecordedDate(traceOf(t, tc.trace...))
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("RecordedDate = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
