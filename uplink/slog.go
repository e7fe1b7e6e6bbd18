package uplink

import "log/slog"

type slogValue = slog.Value

func slogString(s string) slog.Value { return slog.StringValue(s) }

// orDiscard returns l, or a logger that discards everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
