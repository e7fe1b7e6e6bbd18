package config

import (
	"errors"
	"testing"
)

// FuzzParse: any text gives a config or Errors, never a panic.
func FuzzParse(f *testing.F) {
	f.Add(Defaults())
	f.Add("[api]\nlisten = \"0.0.0.0:1\"")
	f.Add("[offline.limits.EUR]\nmax_age = \"-1h\"")
	f.Add("[[readers.simulated.by_amount]]\nmin = -1")
	f.Add("data_dir = 1")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse("fuzz.toml", text)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v is not Errors", err, err)
			}
			return
		}
		if c.Validate() != nil {
			t.Fatal("Parse returned a config that does not validate")
		}
	})
}
