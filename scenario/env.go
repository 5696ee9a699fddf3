package scenario

import (
	"fmt"
	"strings"
)

// Environment expansion works on the parsed YAML values, never on the raw
// text: a value from the environment cannot change the document's
// structure, and line numbers stay those of the file.
//
// In every scalar value (not in keys):
//
//	${NAME}          the value of environment variable NAME; an unset variable is an error
//	${NAME:-default} the value of NAME, or default when NAME is unset or empty (as in the shell)
//	$$               a literal $
//	$ + other        a literal $, except "$" followed by a letter or "_" (such as
//	                 $HOME), which is an error: write ${HOME}, or $$HOME for the text
//
// NAME is [A-Za-z_][A-Za-z0-9_]*. The default is literal text up to the
// first "}" (no expansion inside it); it is part of the file, so messages
// may show it, while a value from the environment is never shown. No other
// shell syntax (${NAME-x}, ${NAME:=x}, nested expansion) is supported.

// expandError is a problem in one value; the message names the variable
// but never a value.
type expandError struct {
	offset int // byte offset of the "$" in the value
	msg    string
}

// expand expands s. It returns whether any ${NAME} was replaced; then the
// result contains environment values and must not be echoed. used, if not
// nil, is called with each variable's name and value.
func expand(s string, getenv func(string) (string, bool), used ...func(name, value string)) (out string, fromEnv bool, err *expandError) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			b.WriteByte('$')
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, &expandError{i, "unterminated ${ (write $$ for a literal $)"}
			}
			name, def, hasDef := strings.Cut(s[i+2:i+2+end], ":-")
			if !validEnvName(name) {
				return "", false, &expandError{i, fmt.Sprintf("invalid variable name %q in ${...} (want [A-Za-z_][A-Za-z0-9_]*; write $$ for a literal $)", name)}
			}
			v, ok := getenv(name)
			if hasDef && (!ok || v == "") {
				b.WriteString(def) // the file's own text: not from the environment
				i += 2 + end
				continue
			}
			if !ok {
				return "", false, &expandError{i, fmt.Sprintf("environment variable %s is not set", name)}
			}
			b.WriteString(v)
			fromEnv = true
			for _, f := range used {
				f(name, v)
			}
			i += 2 + end
		case next == '_' || ('A' <= next && next <= 'Z') || ('a' <= next && next <= 'z'):
			// The name is not echoed: the text could be part of a literal secret.
			return "", false, &expandError{i, "a $ followed by a name is not expanded: write ${NAME} to expand, or $$ for a literal $"}
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), fromEnv, nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// hasRef reports whether s has a ${...} reference (not an escaped $${).
func hasRef(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '{' {
			return true
		}
		if s[i+1] == '$' {
			i++
		}
	}
	return false
}
