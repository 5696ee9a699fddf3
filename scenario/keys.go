package scenario

import (
	"bytes"
	"time"

	"gopkg.in/yaml.v3"
)

// A block of the scenario file (fleet, target.embedded, behaviours.sos, ...)
// is described by one table of keys. Each row holds everything about one
// key: its name, a one-line description and the shape of its value (for
// docs and a JSON Schema of the format), how it is parsed, its default,
// its checks and how the resolved value is echoed in JSON. The decoder,
// defaults, validation and the JSON echo all walk the same table, so a key
// is written down once.

// Shapes of values, as the file writes them.
const (
	shapeString   = "string"
	shapeInteger  = "integer"
	shapeNumber   = "number"
	shapeBool     = "boolean"
	shapeDuration = "duration"   // ParseDuration: 500ms, 30s, 1h30m
	shapeRate     = "rate"       // ParseRate: 5/s, 60/min, 100/h
	shapePercent  = "percentage" // ParsePercent: 5%, 0.1%
	shapeLatency  = "latency"    // ParseLatency: 20ms, uniform:10ms-50ms, lognormal:40ms,0.5
	shapeMapping  = "mapping"    // a block of its own keys
	shapeList     = "list"       // a list of strings
)

// key is one key of a block whose resolved form is T.
type key[T any] struct {
	name  string // the key as written in the file
	doc   string // one line: what it sets, with units and default
	shape string // a shape constant, or a short description of a compound value

	// decode reads the value written at path p into t. It reports
	// problems on d and returns false when nothing could be read (the
	// default then applies).
	decode func(d *decoder, n *yaml.Node, p string, t *T) bool
	// def sets the default when the key is not written or not readable;
	// nil keeps the zero value. It runs after every written key of the
	// block was read, in table order, so it may look at them.
	def func(t *T)
	// check reports problems of the resolved value (p is the key's path);
	// nil for none. It never changes t.
	check func(v *validator, p string, t *T)
	// echo returns the key's JSON value, and false to leave it out; nil
	// leaves it out always.
	echo func(t *T) (any, bool)
	// block is the table of a mapping-valued key's own keys (for the JSON
	// Schema); nil for a scalar or list value.
	block schemaBlock
}

// keys is the table of a block, in the order of the file format's docs,
// error messages and the JSON echo.
type keys[T any] []key[T]

// names lists the keys of the file in table order. A row without decode
// is only echoed (the scenario's "file"): it is not a key of the file.
func (ks keys[T]) names() []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		if k.decode != nil {
			out = append(out, k.name)
		}
	}
	return out
}

// read decodes the mapping n (nil or null: the block is not written) at
// path into t, then applies the defaults of keys not read. It returns the
// keys that were written and read; the decoder also records them by path
// (decoder.read).
func (ks keys[T]) read(d *decoder, n *yaml.Node, path string, t *T) map[string]bool {
	got := map[string]bool{}
	if n != nil {
		d.fields(n, path, ks.names(), func(name string, v *yaml.Node, p string) {
			for _, k := range ks {
				if k.name == name && k.decode != nil {
					got[name] = k.decode(d, v, p, t)
					d.read[p] = got[name]
				}
			}
		})
	}
	ks.defaults(t, got)
	return got
}

// defaults applies, in table order, the default of every key not in got.
func (ks keys[T]) defaults(t *T, got map[string]bool) {
	for _, k := range ks {
		if !got[k.name] && k.def != nil {
			k.def(t)
		}
	}
}

// check runs every key's check on t, the block being at path.
func (ks keys[T]) check(v *validator, path string, t *T) {
	for _, k := range ks {
		if k.check != nil {
			k.check(v, join(path, k.name), t)
		}
	}
}

// marshal writes t as a JSON object of the echoed keys, in table order.
func (ks keys[T]) marshal(t *T) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, k := range ks {
		if k.echo == nil {
			continue
		}
		val, ok := k.echo(t)
		if !ok {
			continue
		}
		data, err := marshal(val)
		if err != nil {
			return nil, err
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		name, _ := marshal(k.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(data)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Row helpers for the common value shapes: each returns a decode function
// that stores the parsed value through set.

func readStr[T any](set func(*T, string)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if s := d.str(n, p); s != nil {
			set(t, *s)
			return true
		}
		return false
	}
}

func readInt[T any](set func(*T, int)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if i := d.integer(n, p); i != nil {
			set(t, *i)
			return true
		}
		return false
	}
}

func readNumber[T any](set func(*T, float64)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if f := d.number(n, p); f != nil {
			set(t, *f)
			return true
		}
		return false
	}
}

func readBool[T any](set func(*T, bool)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if b := d.boolean(n, p); b != nil {
			set(t, *b)
			return true
		}
		return false
	}
}

func readDuration[T any](set func(*T, time.Duration)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if v := d.duration(n, p); v != nil {
			set(t, *v)
			return true
		}
		return false
	}
}

func readRate[T any](set func(*T, Rate)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if r := d.rate(n, p); r != nil {
			set(t, *r)
			return true
		}
		return false
	}
}

func readPercent[T any](set func(*T, float64)) func(*decoder, *yaml.Node, string, *T) bool {
	return func(d *decoder, n *yaml.Node, p string, t *T) bool {
		if f := d.percent(n, p); f != nil {
			set(t, *f)
			return true
		}
		return false
	}
}

// always wraps a value for echo: the key is always written.
func always[T any](get func(*T) any) func(*T) (any, bool) {
	return func(t *T) (any, bool) { return get(t), true }
}
