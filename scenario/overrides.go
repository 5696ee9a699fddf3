package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Command-line overrides of any key (Options.Set, `--set key.path=value`)
// are applied to the parsed YAML tree before anything is decoded, so an
// overridden value is expanded, parsed, defaulted and validated exactly
// like the file's, and a key the format does not have gets the same "did
// you mean" as a typo in the file. Problems name the --set they came from
// instead of a line.

// pathSeg is one step of a key path: a mapping key, or a list index.
type pathSeg struct {
	key   string
	index int // >= 0 for a list index; -1 for a key
}

// splitKeyPath splits "stages[1].users" into stages, [1], users. Under
// thresholds, the rest of the path is one key: metric names contain dots
// (thresholds.sos.delivered).
func splitKeyPath(path string) ([]pathSeg, error) {
	var segs []pathSeg
	rest := path
	for rest != "" {
		if len(segs) == 1 && segs[0].key == "thresholds" && segs[0].index < 0 {
			segs = append(segs, pathSeg{key: rest, index: -1})
			break
		}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("missing ] in %q", path)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 {
				return nil, fmt.Errorf("list index must be a whole number >= 0, got [%s]", rest[1:end])
			}
			segs = append(segs, pathSeg{index: i})
			rest = strings.TrimPrefix(rest[end+1:], ".")
			continue
		}
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		if end == 0 {
			return nil, fmt.Errorf("empty key in %q", path)
		}
		segs = append(segs, pathSeg{key: rest[:end], index: -1})
		rest = rest[end:]
		if strings.HasPrefix(rest, ".") {
			if rest = rest[1:]; rest == "" {
				return nil, fmt.Errorf("empty key at the end of %q", path)
			}
		}
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("empty key path")
	}
	return segs, nil
}

// setFlag is how a --set is shown in messages: as written, except that a
// value that may hold the app secret is shown as [redacted].
func setFlag(path, value string) string {
	if path == "identity" || path == "identity.app_secret" {
		value = redacted
	}
	return "--set " + path + "=" + value
}

// applySets applies each "key.path=value" of sets to the root mapping.
func (d *decoder) applySets(root *yaml.Node, sets []string) {
	for _, set := range sets {
		path, value, ok := strings.Cut(set, "=")
		path = strings.TrimSpace(path)
		if !ok || path == "" {
			d.errs.add(&Error{File: d.src.file, Flag: "--set " + set,
				Msg: "must be key.path=value, e.g. fleet.users=50 or behaviours.telemetry.every=5s"})
			continue
		}
		flag := setFlag(path, value)
		segs, err := splitKeyPath(path)
		if err != nil {
			d.errs.add(&Error{File: d.src.file, Flag: flag, Msg: err.Error()})
			continue
		}
		v, err := overrideValue(value)
		if err != nil {
			d.errs.add(&Error{File: d.src.file, Flag: flag, Msg: err.Error()})
			continue
		}
		if msg := d.setAt(root, "", segs, v, flag); msg != "" {
			d.errs.add(&Error{File: d.src.file, Flag: flag, Msg: msg})
		}
	}
}

// overrideValue parses the value of a --set as YAML (so lists and flow
// mappings work: login=[me], telemetry={ every: 5s }). An empty value is
// the empty string. Positions are cleared: they are not the file's.
func overrideValue(value string) (*yaml.Node, error) {
	if strings.TrimSpace(value) == "" {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle}, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil || len(doc.Content) != 1 {
		msg := "the value is not valid YAML"
		if err != nil {
			msg += ": " + strings.TrimPrefix(err.Error(), "yaml: ")
		}
		return nil, fmt.Errorf("%s (quote it in the shell and in YAML: --set 'key=\"...\"')", msg)
	}
	n := doc.Content[0]
	clearPositions(n)
	return n, nil
}

func clearPositions(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		clearPositions(c)
	}
}

// setAt puts v at segs below node n (at path), creating the mappings on
// the way, and records the flag of every path it writes. It returns a
// message when the path cannot be followed.
func (d *decoder) setAt(n *yaml.Node, path string, segs []pathSeg, v *yaml.Node, flag string) string {
	seg := segs[0]
	if seg.index >= 0 {
		if n.Kind != yaml.SequenceNode {
			return fmt.Sprintf("%s is not a list in the file, so it has no [%d]", path, seg.index)
		}
		if seg.index >= len(n.Content) {
			return fmt.Sprintf("%s has %d items in the file, so it has no [%d]", path, len(n.Content), seg.index)
		}
		p := index(path, seg.index)
		if len(segs) == 1 {
			n.Content[seg.index] = v
			d.src.flags[p] = flag
			return ""
		}
		return d.setAt(n.Content[seg.index], p, segs[1:], v, flag)
	}
	if isNull(n) {
		*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Sprintf("%s is a single value in the file, not a mapping: set %s itself", path, path)
	}
	p := join(path, seg.key)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != seg.key {
			continue
		}
		if len(segs) == 1 {
			n.Content[i+1] = v
			d.src.flags[p] = flag
			return ""
		}
		return d.setAt(n.Content[i+1], p, segs[1:], v, flag)
	}
	// Not in the file: add it (an unknown key is then reported by the decoder).
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg.key}
	child := v
	if len(segs) > 1 {
		if segs[1].index >= 0 {
			return fmt.Sprintf("%s is not in the file, so it has no [%d]", p, segs[1].index)
		}
		child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	n.Content = append(n.Content, k, child)
	d.src.flags[p] = flag
	if len(segs) == 1 {
		return ""
	}
	return d.setAt(child, p, segs[1:], v, flag)
}

// durationOverride returns the run length from Options.DurationText (parsed
// like the file's durations, a problem reported as --duration's) or
// Options.Duration, and whether one is given.
func (p *parser) durationOverride() (time.Duration, bool) {
	if t := p.opts.DurationText; t != nil {
		d, err := ParseDuration(*t)
		if err != nil {
			msg := fmt.Sprintf("must be %s, got %q", wantDuration, *t)
			if ve, ok := err.(*ValueError); ok && ve.Reason != "" {
				msg += " (" + ve.Reason + ")"
			}
			p.errs.add(&Error{File: p.file, Path: "duration", Flag: "--duration " + *t, Msg: msg})
			p.src.bad["duration"] = true // no "stages: required" as well
			return 0, false
		}
		return d, true
	}
	if p.opts.Duration != nil {
		return *p.opts.Duration, true
	}
	return 0, false
}
