package main

import "strings"

// redacted replaces a secret in a recorded command line.
const redacted = "[redacted]"

// scrubArgs returns the command line with the values that may hold a
// secret replaced by [redacted]: --secret's value (refused anyway), and
// the value of a --set whose key names a secret (identity.app_secret, or
// any key with "secret", "hash", "password" or "token" in it). Both the
// "--flag value" and "--flag=value" forms are scrubbed. A
// --remote-write-header keeps its name and loses its value (it may be an
// Authorization).
func scrubArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		name, value, inline := strings.Cut(strings.TrimLeft(out[i], "-"), "=")
		if !strings.HasPrefix(out[i], "-") || out[i] == "--" {
			if out[i] == "--" {
				break
			}
			continue
		}
		switch name {
		case "secret":
			if inline {
				out[i] = out[i][:strings.Index(out[i], "=")+1] + redacted
			} else if i+1 < len(out) {
				out[i+1] = redacted
				i++
			}
		case "remote-write-header":
			if inline {
				out[i] = out[i][:strings.Index(out[i], "=")+1] + redactHeader(value)
			} else if i+1 < len(out) {
				out[i+1] = redactHeader(out[i+1])
				i++
			}
		case "set":
			if inline {
				out[i] = out[i][:strings.Index(out[i], "=")+1] + scrubSetting(value)
			} else if i+1 < len(out) {
				out[i+1] = scrubSetting(out[i+1])
				i++
			}
		}
	}
	return out
}

// scrubSetting is a --set KEY=VALUE with VALUE redacted when KEY names a
// secret.
func scrubSetting(kv string) string {
	key, _, ok := strings.Cut(kv, "=")
	if !secretKey(key) {
		return kv
	}
	if !ok {
		return redacted
	}
	return key + "=" + redacted
}

// secretKey reports whether a scenario key path may hold a secret.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	for _, word := range []string{"secret", "hash", "password", "token"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}
