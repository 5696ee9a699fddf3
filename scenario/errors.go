package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eixamsim/eixamsim/internal/suggest"
)

// Error is one problem in a scenario, located in its file. Error() prints
//
//	FILE:LINE:COLUMN: PATH: MSG
//
// leaving out the parts that are unknown (a zero Line or Column, an empty
// Path), e.g.
//
//	smoke.yaml:12:5: stages[1].users: must be <= fleet.users (200), got 300
//
// A problem with a value given on the command line (Options.Set,
// Options.DurationText) names the flag instead of a position, and the path
// only when the flag does not already name it:
//
//	--set behaviours.telemetry.every=5: must be a duration like 500ms, 30s or 1h30m, got "5" (missing unit)
type Error struct {
	File   string // the scenario file, or the sessions CSV for a CSV problem
	Line   int    // 1-based; 0 if unknown
	Column int    // 1-based; 0 if unknown
	Path   string // the key path, e.g. "stages[1].users"; "" for the whole file
	Msg    string // what is wrong and what is expected; never contains a secret
	Err    error  // the underlying cause (e.g. an *fs.PathError), for errors.Is; may be nil
	// Flag is the command-line option the value came from, as the user
	// wrote it ("--set fleet.users=0", "--duration 8"), a secret value
	// shown as [redacted]; "" for a value from the file.
	Flag string
	// Omitted > 0 marks an entry that only stands for that many problems
	// left out, its Msg saying so ("and 1234 more problems"): an ErrorList
	// shows the first maxProblems and ends with one such entry.
	Omitted int
}

func (e *Error) Error() string {
	if e.Flag != "" {
		msg := e.Flag + ": "
		if e.Path != "" && !strings.HasPrefix(e.Flag, "--set "+e.Path+"=") && !strings.HasPrefix(e.Flag, "--"+e.Path+" ") {
			msg += e.Path + ": "
		}
		return msg + e.Msg
	}
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in one pass over a scenario, sorted by
// position (problems without a line last). Load, Parse and Validate return
// it as their error; use errors.As to get it (or the first *Error). Its
// Error() prints one problem per line. Past maxProblems it holds the first
// ones and an entry that counts the rest (Error.Omitted); Count gives the
// number of problems found.
type ErrorList []*Error

// maxProblems is how many problems an ErrorList shows: a file of a
// million mistakes gets the first 50 and "and 999950 more problems".
const maxProblems = 50

// compactAt is the length at which add keeps only the first maxProblems,
// so that collecting the problems stays bounded too.
const compactAt = 4 * maxProblems

// add records e. A list grown past compactAt keeps its first maxProblems
// by position and counts the rest, which could not be shown anyway.
func (l *ErrorList) add(e *Error) {
	*l = append(*l, e)
	if len(*l) > compactAt {
		*l = l.sorted()
	}
}

// Count is the number of problems l stands for: an Omitted entry counts
// as the problems it left out.
func (l ErrorList) Count() int {
	n := 0
	for _, e := range l {
		n += max(1, e.Omitted)
	}
	return n
}

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the entries, so errors.Is and errors.As look into each.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sorted returns the list grouped by file (in order of first appearance),
// then ordered by line and column, with
// unlocated problems after located ones of the same file; ties keep their
// order. Past maxProblems, the rest are counted in one last entry. It
// returns nil for an empty list.
func (l ErrorList) sorted() ErrorList {
	if len(l) == 0 {
		return nil
	}
	out := make(ErrorList, 0, min(len(l), maxProblems+1))
	left := 0 // problems already left out by an earlier sorted
	for _, e := range l {
		if isTail(e) {
			left += e.Omitted
		} else {
			out = append(out, e)
		}
	}
	out.sortByPosition()
	if len(out) > maxProblems {
		left += out[maxProblems:].Count()
		clear(out[maxProblems:]) // let the dropped problems go
		out = out[:maxProblems]
	}
	if left > 0 {
		out = append(out, &Error{Omitted: left, Msg: fmt.Sprintf("and %d more problems", left)})
	}
	return out
}

// isTail reports whether e is the entry sorted ends a long list with.
func isTail(e *Error) bool { return e.Omitted > 0 && e.File == "" && e.Path == "" }

func (l ErrorList) sortByPosition() {
	rank := map[string]int{}
	for _, e := range l {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	slices.SortStableFunc(l, func(a, b *Error) int {
		if a.File != b.File {
			return cmp.Compare(rank[a.File], rank[b.File])
		}
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// scrub is the second line of defence behind messages that are written
// never to echo a value that may be secret: it replaces the app secret
// with "[redacted]" and each environment value of 6 or more bytes with the
// ${NAME} it came from, in every message.
func (l ErrorList) scrub(secret string, envVals map[string]string) {
	type repl struct{ old, new string }
	var rs []repl
	if len(secret) >= 4 {
		rs = append(rs, repl{secret, redacted})
	}
	for v, ref := range envVals {
		if len(v) >= 6 && v != secret {
			rs = append(rs, repl{v, ref})
		}
	}
	slices.SortFunc(rs, func(a, b repl) int { return cmp.Compare(len(b.old), len(a.old)) }) // longest first
	for _, e := range l {
		for _, r := range rs {
			e.Msg = strings.ReplaceAll(e.Msg, r.old, r.new)
			e.Flag = strings.ReplaceAll(e.Flag, r.old, r.new)
		}
	}
}

// unknownMsg is the message for a name that is not one of valid, e.g.
// `unknown metric "sos.deliverd" (did you mean sos.delivered?)`. showName
// is false when the path already ends in the name.
func unknownMsg(what, name string, showName bool, valid []string) string {
	msg := "unknown " + what
	if showName {
		msg += " " + strconv.Quote(name)
	}
	if s := suggest.Closest(name, valid); s != "" {
		return msg + " (did you mean " + s + "?)"
	}
	return msg + " (expected one of: " + strings.Join(valid, ", ") + ")"
}
