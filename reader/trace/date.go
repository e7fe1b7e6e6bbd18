package trace

import (
	"encoding/hex"
	"posagent/reader"
	"time"

	"posagent/emv/tlv"
)

// RecordedDate returns the transaction date (9A) and, when recorded, time
// (9F21) that the terminal sent in the recorded session: it cuts the data of
// each recorded GET PROCESSING OPTIONS, GENERATE AC and INTERNAL
// AUTHENTICATE by the DOL the card gave before it (PDOL 9F38, CDOL1 8C,
// CDOL2 8D, DDOL 9F49) and takes the first date found. A replay uses it as
// "now", so that expiry dates and certificates are judged as they were live.
// ok is false when no recorded command carries a date.
func RecordedDate(t *Trace) (time.Time, bool) {
	var pdol, cdol1, cdol2, ddol tlv.DOL
	acs := 0
	for _, ex := range t.Exchanges {
		if ex.Command != nil {
			if d, ok := dateIn(ex.Command, func(ins byte) tlv.DOL {
				switch ins {
				case 0xA8:
					return pdol
				case 0xAE:
					if acs == 0 {
						return cdol1
					}
					return cdol2
				case 0x88:
					return ddol
				}
				return nil
			}); ok {
				return d, true
			}
			if len(ex.Command) >= 2 && ex.Command[1] == 0xAE {
				acs++
			}
		}
		if len(ex.Response) < 2 {
			continue
		}
		objs, err := tlv.Parse(ex.Response[:len(ex.Response)-2])
		if err != nil {
			continue
		}
		for tag, dol := range map[tlv.Tag]*tlv.DOL{0x9F38: &pdol, 0x8C: &cdol1, 0x8D: &cdol2, 0x9F49: &ddol} {
			if v, ok := tlv.Find(objs, tag); ok {
				if d, err := tlv.ParseDOL(v.Value); err == nil {
					*dol = d
				}
			}
		}
	}
	return time.Time{}, false
}

// dateIn reads 9A (and 9F21) from the DOL data of cmd.
func dateIn(cmd []byte, dolFor func(ins byte) tlv.DOL) (time.Time, bool) {
	a, err := reader.ParseCommand(cmd)
	if err != nil || len(a.Data) == 0 {
		return time.Time{}, false
	}
	dol := dolFor(a.INS)
	if !dol.Has(0x9A) {
		return time.Time{}, false
	}
	data := a.Data
	if a.INS == 0xA8 {
		objs, err := tlv.Parse(data)
		if err != nil || len(objs) != 1 || objs[0].Tag != 0x83 {
			return time.Time{}, false
		}
		data = objs[0].Value
	}
	vals, err := dol.Split(data)
	if err != nil {
		return time.Time{}, false
	}
	day, err := time.Parse("060102", hex.EncodeToString(vals[0x9A]))
	if err != nil {
		return time.Time{}, false
	}
	if tm, err := time.Parse("150405", hex.EncodeToString(vals[0x9F21])); err == nil && len(vals[0x9F21]) == 3 {
		day = day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute + time.Duration(tm.Second())*time.Second)
	}
	return day, true
}
