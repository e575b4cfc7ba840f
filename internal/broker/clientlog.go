package broker

import (
	"context"
	"log/slog"
	"strings"

	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
)

// clientLogger is the logger pulsar-client-go gets. The client logs every
// producer and consumer it opens or closes, and every reconnection, at INFO
// ("Connected producer", "Closing consumer", ...): at the worker's INFO that
// is a line per topic per instance, noise that buries the worker's own
// lines. So its INFO becomes our DEBUG, its DEBUG (a firehose of wire
// commands) is dropped, and its WARN and ERROR stay what they are: those are
// the lines an operator needs (lost connections, failed subscriptions). One
// expected warning, "all filtered", is DEBUG too (see clientLevel).
func clientLogger(l *slog.Logger) pulsarlog.Logger {
	return pulsarlog.NewLoggerWithSlog(slog.New(clientLevels{l.Handler()}).With("component", "pulsar-client"))
}

// clientLevels maps pulsar-client-go's levels to the worker's (see clientLogger).
type clientLevels struct{ slog.Handler }

// clientLevel is the level a record of the client at l saying msg is logged
// at; ok is false for records that are dropped. Enabled knows no message yet
// and passes "".
func clientLevel(l slog.Level, msg string) (_ slog.Level, ok bool) {
	switch {
	case l < slog.LevelInfo:
		return l, false
	case l < slog.LevelWarn:
		return slog.LevelDebug, true
	case l < slog.LevelError && strings.HasSuffix(msg, "all filtered"):
		// "receive N messages , all filtered": a reader skipped what lies
		// before its start position or was already acknowledged. Expected
		// (every worker shutdown prints it twice) and nothing to act on.
		return slog.LevelDebug, true
	default:
		return l, true
	}
}

func (h clientLevels) Enabled(ctx context.Context, l slog.Level) bool {
	l, ok := clientLevel(l, "")
	return ok && h.Handler.Enabled(ctx, l)
}

func (h clientLevels) Handle(ctx context.Context, r slog.Record) error {
	l, ok := clientLevel(r.Level, r.Message)
	if !ok || !h.Handler.Enabled(ctx, l) {
		return nil
	}
	r.Level = l
	return h.Handler.Handle(ctx, r)
}

func (h clientLevels) WithAttrs(a []slog.Attr) slog.Handler {
	return clientLevels{h.Handler.WithAttrs(a)}
}

func (h clientLevels) WithGroup(n string) slog.Handler {
	return clientLevels{h.Handler.WithGroup(n)}
}
