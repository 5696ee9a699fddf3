package scenario

import (
	"fmt"
	"log/slog"
)

// redacted is what every printing path shows instead of a secret.
const redacted = "[redacted]"

// Secret is a value that must never be printed: an app secret or a user's
// hash. String, GoString, every fmt verb, JSON, YAML, text marshalling and
// slog all show "[redacted]" (or "" for an empty secret, so a missing secret
// is still visible). Reveal returns the value for the code that needs it.
type Secret string

// Reveal returns the secret value. Call it only where the value is used
// (signing, the MQTT password, the Authorization header).
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return s.shown() }

// GoString returns the same as String, so %#v does not leak either.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// Format makes every verb (%s, %v, %q, %x, %d, ...) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// MarshalText returns the redacted form; encoding/json and others use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON returns the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.shown()), nil }

// MarshalYAML returns the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// LogValue makes slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

var (
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)
