package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The decoder walks the yaml.v3 node tree by hand instead of using
// yaml.Decoder.KnownFields: it is just as strict (every mapping lists its
// keys), and it also gives each problem a column and a key path, suggests
// the key that was probably meant, reports every problem instead of the
// first, and never echoes a value that came from the environment (yaml.v3's
// type errors quote the offending value).

// maxFileSize bounds the scenario file; real ones are a few kilobytes.
const maxFileSize = 4 << 20

// decoder turns the node tree into a rawScenario, collecting errors.
type decoder struct {
	src      *sourceMap
	errs     ErrorList
	getenv   func(string) (string, bool)
	fromEnv  map[*yaml.Node]string // scalars with a value from the environment -> their source text
	expanded map[*yaml.Node]bool   // scalars with a ${...} (from the environment or its default)
	envVals  map[string]string     // environment values used -> "${NAME}", for scrubbing messages
	skip     map[*yaml.Node]bool   // values already reported
	read     map[string]bool       // key path -> written and read without a problem (false: written, not readable)
}

func newDecoder(src *sourceMap, getenv func(string) (string, bool)) *decoder {
	return &decoder{
		src:      src,
		getenv:   getenv,
		fromEnv:  map[*yaml.Node]string{},
		expanded: map[*yaml.Node]bool{},
		envVals:  map[string]string{},
		skip:     map[*yaml.Node]bool{},
		read:     map[string]bool{},
	}
}

// errAt records a problem at node n and marks path as reported.
func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) {
	e := &Error{
		File: d.src.file, Line: n.Line, Column: n.Column, Path: path,
		Msg: fmt.Sprintf(format, args...),
	}
	if e.Flag = d.src.flag(path); e.Flag != "" {
		e.Line, e.Column = 0, 0
	}
	d.errs.add(e)
	d.src.bad[path] = true
}

// errPath records a problem at path, located through the source map (for a
// problem found after its value was read), and marks path as reported.
func (d *decoder) errPath(path, format string, args ...any) {
	d.errs.add(d.src.errorAt(path, false, format, args...))
	d.src.bad[path] = true
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parseDocument parses data into the root mapping node. A syntax error is
// reported with the line yaml.v3 gives.
func (d *decoder) parseDocument(data []byte) *yaml.Node {
	if len(data) > maxFileSize {
		d.errs.add(&Error{File: d.src.file, Msg: fmt.Sprintf("file is larger than %d MiB", maxFileSize>>20)})
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil && !errors.Is(err, io.EOF) {
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := safeDecode(dec, &next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(data, err)
		return nil
	default:
		d.errs.add(&Error{File: d.src.file, Line: next.Line, Column: next.Column,
			Msg: "only one YAML document is allowed (remove the second ---)"})
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errs.add(&Error{File: d.src.file, Msg: "the file is empty (a scenario starts with `version: 1`)"})
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		d.errAt(root, "", "the top level must be a mapping of keys (version, name, ...), got %s", d.got(root))
		return nil
	}
	return root
}

// safeDecode guards against a panic inside the YAML parser: bad input must
// give an error, never crash the CLI.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input (%v)", r)
		}
	}()
	return dec.Decode(n)
}

// yamlParserProblems are the yaml.v3 errors raised by its parser rather
// than its scanner: yaml.v3 prints their line 0-based.
var yamlParserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>",
	"found undefined tag handle", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive",
}

func (d *decoder) syntaxError(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	m := yamlLineRE.FindStringSubmatch(msg)
	if m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case slices.Contains(yamlParserProblems, msg):
		line++ // yaml.v3 leaves out line 0, the first
	case m == nil && (strings.HasPrefix(msg, "found ") || strings.HasPrefix(msg, "did not find ") ||
		strings.HasPrefix(msg, "mapping ") || strings.HasPrefix(msg, "block sequence ")):
		line = 1 // a scanner error on the first line
	}
	if lines := bytes.Split(data, []byte("\n")); line > 0 && line <= len(lines) {
		text := lines[line-1]
		switch {
		case strings.Contains(msg, "cannot start any token") && bytes.ContainsRune(text, '\t'):
			msg += " (tabs cannot indent YAML: use spaces)"
		case strings.Contains(msg, "did not find expected") && bytes.Contains(text, []byte("${")):
			msg += ` (inside { } or [ ], quote values that contain ${...}: "${NAME}")`
		}
	}
	d.errs.add(&Error{File: d.src.file, Line: line, Msg: "invalid YAML: " + msg, Err: err})
}

// expandTree expands environment variables in every scalar value under n
// (keys are left alone) and rejects aliases.
func (d *decoder) expandTree(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.AliasNode:
		d.errAt(n, path, "aliases (*%s) are not supported: repeat the value", n.Value)
		d.skip[n] = true
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.expandTree(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expandTree(c, index(path, i))
		}
	case yaml.ScalarNode:
		if isNull(n) {
			return
		}
		out, env, err := expand(n.Value, d.getenv, func(name, value string) { d.envVals[value] = "${" + name + "}" })
		if err != nil {
			d.errAt(n, path, "%s", err.msg)
			d.skip[n] = true
			return
		}
		if env {
			d.fromEnv[n] = n.Value
		}
		if hasRef(n.Value) {
			d.expanded[n] = true
		}
		n.Value = out
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0
}

// got describes a value for "got ..." in a message. A value from the
// environment is shown by its source text only.
func (d *decoder) got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "no value"
	}
	if src, ok := d.fromEnv[n]; ok {
		return fmt.Sprintf("%q (value from the environment not shown)", src)
	}
	v := n.Value
	if len(v) > 60 {
		v = v[:57] + "..."
	}
	return strconv.Quote(v)
}

// plain reports whether a scalar may be read as a number or boolean: it is
// unquoted, or it has a ${...} (quoted because YAML needs it in { }).
func (d *decoder) plain(n *yaml.Node) bool {
	return d.expanded[n] || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// fields decodes mapping n at path: each key must be one of keys and
// appear once; fn is called for each. A null value counts as an empty
// mapping. It reports whether n was a mapping.
func (d *decoder) fields(n *yaml.Node, path string, keys []string, fn func(key string, v *yaml.Node, p string)) bool {
	return d.pairs(n, path, "a mapping with keys "+strings.Join(keys, ", "), func(key string, k, v *yaml.Node, p string) {
		if !slices.Contains(keys, key) {
			d.errAt(k, p, "%s", unknownMsg("key", key, false, keys))
			return
		}
		fn(key, v, p)
	})
}

// pairs walks mapping n with arbitrary keys, rejecting duplicates and
// recording positions.
func (d *decoder) pairs(n *yaml.Node, path, want string, fn func(key string, k, v *yaml.Node, p string)) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "must be %s, got %s", want, d.got(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errAt(k, path, "keys must be names, got %s", d.got(k))
			continue
		}
		p := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.errAt(k, p, "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		d.src.keys[p] = pos{k.Line, k.Column}
		d.src.vals[p] = pos{v.Line, v.Column}
		if d.skip[v] {
			continue
		}
		fn(k.Value, k, v, p)
	}
	return true
}

// items walks sequence n; a null value counts as an empty list.
func (d *decoder) items(n *yaml.Node, path, want string, fn func(i int, v *yaml.Node, p string)) bool {
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.errAt(n, path, "must be %s, got %s", want, d.got(n))
		return false
	}
	for i, v := range n.Content {
		p := index(path, i)
		d.src.vals[p] = pos{v.Line, v.Column}
		if d.skip[v] {
			continue
		}
		fn(i, v, p)
	}
	return true
}

// scalar returns the text of a scalar value, or reports that it must be want.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if d.skip[n] {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errAt(n, path, "must be %s, got %s", want, d.got(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string) *string {
	s, ok := d.scalar(n, path, "a string")
	if !ok {
		return nil
	}
	return &s
}

var intRE = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func (d *decoder) integer(n *yaml.Node, path string) *int {
	s, ok := d.scalar(n, path, "an integer")
	if !ok {
		return nil
	}
	if !d.plain(n) || !intRE.MatchString(s) {
		d.errAt(n, path, "must be an integer, got %s", d.got(n))
		return nil
	}
	v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		d.errAt(n, path, "must be an integer between %d and %d, got %s", math.MinInt32, math.MaxInt32, d.got(n))
		return nil
	}
	return &v
}

func (d *decoder) number(n *yaml.Node, path string) *float64 {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if !d.plain(n) || err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "xXpP_") {
		d.errAt(n, path, "must be a number, got %s", d.got(n))
		return nil
	}
	return &v
}

func (d *decoder) boolean(n *yaml.Node, path string) *bool {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return nil
	}
	var v bool
	switch strings.ToLower(s) {
	case "true":
		v = true
	case "false":
	default:
		d.errAt(n, path, "must be true or false, got %s", d.got(n))
		return nil
	}
	if !d.plain(n) {
		d.errAt(n, path, "must be true or false (unquoted), got %s", d.got(n))
		return nil
	}
	return &v
}

// parsed reads a scalar with one of the value parsers (ParseDuration,
// ParseRate, ...).
func parsed[T any](d *decoder, n *yaml.Node, path, want string, parse func(string) (T, error)) *T {
	s, ok := d.scalar(n, path, want)
	if !ok {
		return nil
	}
	v, err := parse(s)
	if err != nil {
		msg := fmt.Sprintf("must be %s, got %s", want, d.got(n))
		var ve *ValueError
		if _, env := d.fromEnv[n]; !env && errors.As(err, &ve) && ve.Reason != "" {
			msg += " (" + ve.Reason + ")"
		}
		d.errAt(n, path, "%s", msg)
		return nil
	}
	return &v
}

func (d *decoder) duration(n *yaml.Node, path string) *time.Duration {
	return parsed(d, n, path, wantDuration, ParseDuration)
}

func (d *decoder) rate(n *yaml.Node, path string) *Rate {
	return parsed(d, n, path, wantRate, ParseRate)
}

// rateOrZero is rate that also accepts a zero rate ("0/s"), which pauses
// a behaviour during a stage.
func (d *decoder) rateOrZero(n *yaml.Node, path string) *Rate {
	return parsed(d, n, path, wantRate, func(s string) (Rate, error) {
		if num, _, ok := strings.Cut(strings.TrimSpace(s), "/"); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(num), 64); err == nil && v == 0 {
				if _, err := ParseRate("1/" + strings.TrimSpace(s[strings.Index(s, "/")+1:])); err == nil {
					return Rate{}, nil
				}
			}
		}
		return ParseRate(s)
	})
}

func (d *decoder) percent(n *yaml.Node, path string) *float64 {
	return parsed(d, n, path, wantPercent, ParsePercent)
}

// stringList reads a list of strings (or, when single is true, one string
// meaning a list of one).
func (d *decoder) stringList(n *yaml.Node, path string, single bool) ([]string, []*yaml.Node, bool) {
	if single && n.Kind == yaml.ScalarNode && !isNull(n) {
		d.src.vals[index(path, 0)] = pos{n.Line, n.Column}
		return []string{n.Value}, []*yaml.Node{n}, true
	}
	list := []string{}
	var nodes []*yaml.Node
	ok := d.items(n, path, "a list of strings", func(i int, v *yaml.Node, p string) {
		if s := d.str(v, p); s != nil {
			list = append(list, *s)
			nodes = append(nodes, v)
		}
	})
	return list, nodes, ok
}
