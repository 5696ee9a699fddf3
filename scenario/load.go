package scenario

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Options changes how a scenario is loaded. The zero value reads the
// process environment and the real file system, with no overrides.
type Options struct {
	// Getenv looks up ${NAME} references; nil means os.LookupEnv.
	Getenv func(name string) (value string, ok bool)
	// Open opens the files a scenario refers to (sessions CSV, TLS files)
	// for reading; nil opens regular files on disk and refuses anything
	// else (a FIFO, a device, a directory) before opening it. A sessions
	// file is read only as far as the run needs.
	Open func(name string) (io.ReadCloser, error)

	// Command-line overrides, applied before defaults and validation; nil
	// keeps the file's value.

	// Users replaces fleet.users and scales every stage to it: a stage
	// written as a percentage stays that percentage of the new number; a
	// stage written as a number of users is scaled in proportion
	// (users x N / fleet.users, rounded to the nearest, and a stage with
	// users online keeps at least 1). Rates stay as written. (--users)
	Users *int
	// Duration replaces duration; with stages, it cuts the schedule there
	// (later stages dropped, the running one shortened) or extends the last
	// stage when the schedule is shorter. (--duration)
	Duration *time.Duration
	// DurationText is Duration as the user typed it ("90s"), parsed like
	// the file's durations: "8" is refused with "missing unit", the message
	// naming --duration. It wins over Duration.
	DurationText *string
	// OutDir replaces output.dir (still a template). (--out)
	OutDir *string
	// Seed replaces the scenario's seed. (--seed)
	Seed *uint64
	// Set overrides any key of the file, each "key.path=value" as
	// `--set` takes it: fleet.users=50, behaviours.telemetry.every=5s,
	// stages[1].users=10, target.embedded.ack_delay=2s,
	// thresholds.sos.delivered=["p(95) < 1s"]. The value is YAML (a
	// scalar, or a flow list or mapping); it replaces the file's value, or
	// adds the key (and the mappings on its way) when the file has none,
	// before ${NAME} expansion, decoding, defaults and validation, so it
	// is checked exactly like the file. A problem names the --set; an
	// unknown key gets "did you mean". Applied in order: a later Set of the
	// same key wins. Users, Duration, OutDir and Seed apply after Set.
	Set []string
}

// Load reads a scenario file and returns it resolved: environment
// expanded, overrides and defaults applied, validated, sessions CSV and
// TLS files loaded. Relative paths in the file are relative to the file.
// Every problem is reported at once in an ErrorList.
func Load(path string, opts Options) (*Scenario, error) {
	data, err := readLimited(path, maxFileSize+1)
	if err != nil {
		msg := "cannot read the scenario: " + err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = "cannot read the scenario: " + pe.Err.Error()
		}
		return nil, ErrorList{{File: path, Msg: msg, Err: err}}
	}
	return Parse(path, data, opts)
}

// Parse is Load for a scenario already in memory. filename is used in
// error messages and to resolve relative paths (the working directory when
// it has no directory part).
func Parse(filename string, data []byte, opts Options) (*Scenario, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.LookupEnv
	}
	if opts.Open == nil {
		opts.Open = func(name string) (io.ReadCloser, error) { return openRegular(name) }
	}
	p := &parser{opts: opts, src: newSourceMap(filename), file: filename}
	p.dir = filepath.Dir(filename)
	if abs, err := filepath.Abs(p.dir); err == nil {
		p.dir = abs
	}

	d := newDecoder(p.src, opts.Getenv)
	var s *Scenario
	if root := d.parseDocument(data); root != nil {
		d.applySets(root, opts.Set)
		d.expandTree(root, "")
		if s = d.decodeRoot(root); s != nil {
			p.errs = d.errs
			p.read = d.read
			s = p.resolve(s)
		}
	}
	if s == nil {
		d.errs.scrub("", d.envVals)
		return nil, d.errs.sorted()
	}
	for _, e := range s.validate() {
		p.errs.add(e)
	}
	if len(p.errs) > 0 {
		p.errs.scrub(s.Identity.AppSecret.Reveal(), d.envVals)
		return nil, p.errs.sorted()
	}
	return s, nil
}

// parser carries one Parse call's state through resolve and file loading.
type parser struct {
	opts Options
	src  *sourceMap
	file string // the scenario file, as given
	dir  string // its absolute directory
	errs ErrorList
	read map[string]bool // key path -> written and read (decoder.read)
}

// errorf records a problem at path (located through the source map) and
// returns it, so that a caller can set its Err.
func (p *parser) errorf(path, format string, args ...any) *Error {
	e := p.src.errorAt(path, false, format, args...)
	p.errs.add(e)
	p.src.bad[path] = true
	return e
}

// resolvePath makes a path from the file absolute, relative to the file.
func (p *parser) resolvePath(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.dir, name)
}

// displayPath is how a referenced file is named in messages: relative to
// the working directory when the scenario's name was.
func (p *parser) displayPath(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(p.file), name)
}

// maxReferencedFile bounds a file a scenario refers to (sessions CSV, TLS
// files), in bytes.
const maxReferencedFile = 1 << 30

// openRegular opens a regular file for reading. Anything else — a named
// pipe, a device, a socket, a directory — is refused before it is opened:
// opening a FIFO would wait for a writer, and reading a device might never
// end.
func openRegular(name string) (*os.File, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := regular(name, st); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err == nil {
		err = regular(name, st) // replaced since the Stat
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regular refuses a file that is not a regular one, saying what it is.
func regular(name string, st fs.FileInfo) error {
	m := st.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a directory, not a regular file"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO), not a regular file"
	case m&fs.ModeSocket != 0:
		what = "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		what = "a device, not a regular file"
	}
	return &fs.PathError{Op: "open", Path: name, Err: errors.New(what)}
}

// readLimited reads a regular file of at most limit bytes.
func readLimited(name string, limit int64) ([]byte, error) {
	f, err := openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f, name, limit)
}

// readAtMost reads r to its end, refusing more than limit bytes.
func readAtMost(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return data, nil
}

// readFile reads a file the scenario refers to through Options.Open.
func (p *parser) readFile(name string) ([]byte, error) {
	rc, err := p.opts.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAtMost(rc, name, maxReferencedFile)
}
