package report

import "regexp"

// Redacted replaces a secret in anything a report writes.
const Redacted = "[redacted]"

// secretPatterns match what may be a secret inside an error message:
//   - a key named like a secret and its value ("password=…", "token: …",
//     "secret=…", "hash=…", "authorization: Bearer …"), the key kept;
//   - a run of 32 or more hex digits (a userHash is 64) or of 40 or more
//     base64 characters (a token), whatever surrounds it.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)\b((?:[a-z_]*(?:secret|password|passwd|token|hash)|authorization)["']?\s*[=:]\s*["']?)(?:bearer\s+|basic\s+)?[^\s"',;&]+`), "${1}" + Redacted},
	{regexp.MustCompile(`\b[0-9a-fA-F]{32,}\b`), Redacted},
	{regexp.MustCompile(`[A-Za-z0-9+/_-]{40,}={0,2}`), Redacted},
}

// ScrubMessage returns msg with every part that may be a secret replaced by
// Redacted (see secretPatterns). It is applied to error samples when they
// enter a summary and again when a report shows them, so a summary written
// by an older eixamsim is scrubbed too.
func ScrubMessage(msg string) string {
	for _, p := range secretPatterns {
		msg = p.re.ReplaceAllString(msg, p.repl)
	}
	return msg
}
