package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// pos is a 1-based line and column in the scenario file.
type pos struct{ line, col int }

// sourceMap remembers where each key path of the file is, so that problems
// found after decoding (defaults, validation) still point at a line.
type sourceMap struct {
	file       string
	keys       map[string]pos    // path -> position of its key
	vals       map[string]pos    // path -> position of its value
	bad        map[string]bool   // paths already reported while decoding; validation stays quiet about them
	alias      map[string]string // resolved path -> the file's path for it (the `duration` shorthand)
	overridden map[string]string // path -> which option set it (CLI overrides)
	flags      map[string]string // path -> the --set (or --duration) that wrote the value there, as shown in errors
}

func newSourceMap(file string) *sourceMap {
	return &sourceMap{
		file:       file,
		keys:       map[string]pos{},
		vals:       map[string]pos{},
		bad:        map[string]bool{},
		alias:      map[string]string{},
		overridden: map[string]string{},
		flags:      map[string]string{},
	}
}

// flag returns the command-line option that wrote path or one of its
// ancestors, or "".
func (m *sourceMap) flag(path string) string {
	if m == nil {
		return ""
	}
	for p := path; p != ""; p = parentPath(p) {
		if f, ok := m.flags[p]; ok {
			return f
		}
	}
	return ""
}

// filePath maps a path of the resolved scenario to the path the user wrote.
func (m *sourceMap) filePath(path string) string {
	if m == nil {
		return path
	}
	for p := path; p != ""; p = parentPath(p) {
		if a, ok := m.alias[p]; ok {
			return a + path[len(p):]
		}
	}
	return path
}

// at is where to report a problem with path: its value, else (for a key
// that is missing) the key of its nearest ancestor in the file, else the
// start of the file. keyFirst prefers the key's own position.
func (m *sourceMap) at(path string, keyFirst bool) pos {
	if m == nil {
		return pos{}
	}
	if keyFirst {
		if p, ok := m.keys[path]; ok {
			return p
		}
	}
	if p, ok := m.vals[path]; ok {
		return p
	}
	for p := parentPath(path); p != ""; p = parentPath(p) {
		if k, ok := m.keys[p]; ok {
			return k
		}
		if v, ok := m.vals[p]; ok {
			return v
		}
	}
	return pos{1, 1}
}

// isBad reports whether path or one of its ancestors was already reported.
func (m *sourceMap) isBad(path string) bool {
	if m == nil {
		return false
	}
	for p := path; p != ""; p = parentPath(p) {
		if m.bad[p] {
			return true
		}
	}
	return false
}

// isBadUnder reports whether a path below path was already reported.
func (m *sourceMap) isBadUnder(path string) bool {
	if m == nil {
		return false
	}
	for p := range m.bad {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// join appends a key to a path: join("fleet", "users") = "fleet.users".
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a path: index("stages", 1) = "stages[1]".
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parentPath drops the last key or index of a path. Metric names contain
// dots, so a path under thresholds keeps them: the parent of
// "thresholds.sos.delivered[0]" is "thresholds.sos.delivered", whose
// parent is "thresholds".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if rest, ok := strings.CutPrefix(path, "thresholds."); ok && rest != "" {
		return "thresholds"
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// errorAt builds an Error for path, located through the source map.
func (m *sourceMap) errorAt(path string, keyFirst bool, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	e := &Error{Path: path, Msg: msg}
	if m == nil {
		return e
	}
	e.File = m.file
	if by, ok := m.overridden[path]; ok {
		e.Msg += " (" + by + ")"
	}
	e.Path = m.filePath(path)
	if e.Flag = m.flag(e.Path); e.Flag != "" {
		return e
	}
	p := m.at(e.Path, keyFirst)
	e.Line, e.Column = p.line, p.col
	return e
}
