package scenario

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/eixamsim/eixamsim/contract"
)

// Schema returns a JSON Schema (draft 2020-12) of the scenario format,
// generated from the key tables: every block is an object with exactly its
// keys (additionalProperties: false), each described by its table row's
// one-line doc and typed by its shape. Editors use it to complete keys and
// flag typos (`# yaml-language-server: $schema=eixamsim.schema.json`);
// `eixamsim schema` prints it. It checks the shape of a file, not
// everything Validate checks (ranges, cross-key rules), and accepts
// ${NAME} wherever a number, boolean or duration goes.
func Schema() []byte {
	root := scenarioKeys.schema()
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/eixamsim/eixamsim/scenario.schema.json"
	root["title"] = "eixamsim scenario (version 1)"
	root["description"] = "A load-test scenario for backends of the Eixam Connect SDK (docs/scenario.md)."
	root["required"] = []string{"version", "name"}
	data, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic("scenario: the schema does not marshal: " + err.Error()) // only maps, strings and numbers: cannot happen
	}
	return append(data, '\n')
}

// schemaBlock is a block of keys (or a mapping with fixed keys) that
// describes itself as a JSON Schema object.
type schemaBlock interface {
	schema() map[string]any
}

// schema describes the block: an object (or null, an empty block) with
// exactly the table's keys.
func (ks keys[T]) schema() map[string]any {
	props := map[string]any{}
	for _, k := range ks {
		if k.decode == nil {
			continue // echoed only, not a key of the file
		}
		props[k.name] = describe(shapeSchema(k.shape, k.block), k.doc)
	}
	return map[string]any{"type": []string{"object", "null"}, "properties": props, "additionalProperties": false}
}

// describe adds a description to a schema.
func describe(s map[string]any, doc string) map[string]any {
	out := map[string]any{"description": doc}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// mapOf is a mapping whose keys are a fixed set of names (operations,
// endpoints, behaviours), each with a value of one shape.
type mapOf struct {
	names func() []string
	value string // a shape
}

func (m mapOf) schema() map[string]any {
	props := map[string]any{}
	for _, n := range m.names() {
		props[n] = shapeSchema(m.value, nil)
	}
	return map[string]any{"type": []string{"object", "null"}, "properties": props, "additionalProperties": false}
}

// behavioursBlock describes the behaviours block from behaviourTable.
type behavioursBlock struct{}

func (behavioursBlock) schema() map[string]any {
	props := map[string]any{}
	for _, row := range behaviourTable {
		props[row.name] = describe(shapeSchema(row.shape, row.block), row.doc)
	}
	return map[string]any{"type": []string{"object", "null"}, "properties": props, "additionalProperties": false}
}

// thresholdsBlock describes the thresholds block: a key per metric of the
// catalogue, plus the reserved keys of thresholdKeys.
type thresholdsBlock struct{}

func (thresholdsBlock) schema() map[string]any {
	s := thresholdKeys.schema()
	props := s["properties"].(map[string]any)
	rules := []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		props[m.Name] = map[string]any{
			"description": fmt.Sprintf("%s (%s): %s", m.Name, m.Kind, m.Description),
			"anyOf":       rules,
		}
		names[i] = regexp.QuoteMeta(m.Name)
	}
	// metric{stage=NAME}: the metric's rules over one stage.
	s["patternProperties"] = map[string]any{
		`^(` + strings.Join(names, "|") + `)\{stage=[A-Za-z0-9._-]+\}$`: map[string]any{
			"description": "a metric's rules judged on one stage only",
			"anyOf":       rules,
		},
		// event.<name>.recovery: an incident's recovery (events).
		`^` + regexp.QuoteMeta(eventPrefix) + `[A-Za-z0-9._-]+` + regexp.QuoteMeta(eventRecoverySuffix) + `(\{stage=[A-Za-z0-9._-]+\})?$`: map[string]any{
			"description": "event.<name>.recovery (latency): " + eventRecoveryMetric("").Description,
			"anyOf":       rules,
		},
	}
	return s
}

// envRef is a ${NAME} reference, accepted wherever a typed value goes.
var envRef = map[string]any{"type": "string", "pattern": `\$\{`}

// Patterns of the value syntaxes (loose: the parsers say what is wrong).
const (
	durationPattern = `^\s*[-+]?([0-9]*\.?[0-9]+(ns|us|µs|μs|ms|s|m|h))+\s*$|^\s*0\s*$|\$\{`
	ratePattern     = `^\s*[0-9.eE+-]+\s*/\s*(s|min|h)\s*$|\$\{`
	percentPattern  = `%\s*$|\$\{`
	bitratePattern  = `^\s*[0-9.]+\s*[kKmMgG]?bit(/s)?\s*$|^\s*0\s*$|\$\{`
)

// Shapes of compound values, as the tables write them.
const (
	shapeSeed      = "seed"             // a whole number 1..2^64-1
	shapeBlocks    = "list of mappings" // a list of blocks of the row's table
	shapeAddresses = "URL | list"       // one URL, or a list of at least one
)

// shapeSchema turns a row's shape into a schema. A shape "a | b | c" is
// one of its alternatives: a shape, a quoted or bare word, or a number.
func shapeSchema(shape string, block schemaBlock) map[string]any {
	typed := func(t string) map[string]any {
		return map[string]any{"anyOf": []any{map[string]any{"type": t}, envRef}}
	}
	str := map[string]any{"type": "string"}
	strings_ := map[string]any{"type": "array", "items": str}
	switch shape {
	case shapeString, "template", shapeLatency:
		return str
	case shapeInteger:
		return typed("integer")
	case shapeNumber:
		return typed("number")
	case shapeBool:
		return typed("boolean")
	case shapeSeed:
		return map[string]any{"anyOf": []any{map[string]any{"type": "integer", "minimum": 1}, envRef}}
	case shapeDuration:
		return map[string]any{"anyOf": []any{map[string]any{"type": "string", "pattern": durationPattern}, map[string]any{"const": 0}}}
	case shapeRate:
		return map[string]any{"type": "string", "pattern": ratePattern}
	case shapePercent:
		return map[string]any{"type": "string", "pattern": percentPattern}
	case shapeBitrate:
		return map[string]any{"anyOf": []any{map[string]any{"type": "string", "pattern": bitratePattern}, map[string]any{"const": 0}}}
	case shapeList, "list of ACTION@AT:ARG":
		return strings_
	case "address | a-b | list":
		return map[string]any{"anyOf": []any{str, strings_}}
	case shapeAddresses:
		return map[string]any{"anyOf": []any{str, map[string]any{"type": "array", "items": str, "minItems": 1}}}
	case "[latitude, longitude]":
		return map[string]any{"type": "array", "items": typed("number"), "minItems": 2, "maxItems": 2}
	case "duration | duration..duration":
		return map[string]any{"anyOf": []any{shapeSchema(shapeDuration, nil), map[string]any{"type": "string", "pattern": `\.\.`}}}
	case "integer | integer..integer":
		return map[string]any{"anyOf": []any{shapeSchema(shapeInteger, nil), map[string]any{"type": "string", "pattern": `^\s*[0-9]+\s*\.\.\s*[0-9]+\s*$`}}}
	case shapeMapping:
		return blockSchema(shape, block)
	case shapeBlocks:
		return map[string]any{"anyOf": []any{map[string]any{"type": "array", "items": blockSchema(shape, block)}, map[string]any{"type": "null"}}}
	}
	if strings.HasPrefix(shape, "mapping of ") {
		return blockSchema(shape, block)
	}
	var consts []any
	var alts []any
	for _, alt := range strings.Split(shape, " | ") {
		switch {
		case alt == shapeMapping:
			alts = append(alts, blockSchema(shape, block))
		case alt == shapeDuration || alt == shapePercent || alt == shapeInteger || alt == shapeRate:
			alts = append(alts, shapeSchema(alt, nil))
		case strings.HasPrefix(alt, `"`):
			s, err := strconv.Unquote(alt)
			if err != nil {
				panic(fmt.Sprintf("scenario: shape %q: bad quoted word %s", shape, alt))
			}
			consts = append(consts, s)
		case alt != "" && strings.Trim(alt, "0123456789") == "":
			n, _ := strconv.Atoi(alt)
			consts = append(consts, n)
		case alt != "" && strings.Trim(alt, "abcdefghijklmnopqrstuvwxyz_") == "":
			consts = append(consts, alt)
		default:
			panic(fmt.Sprintf("scenario: shape %q has no JSON Schema (add it to shapeSchema)", shape))
		}
	}
	if len(consts) > 0 {
		alts = append(alts, map[string]any{"enum": consts}, envRef)
	}
	if len(alts) == 1 {
		return alts[0].(map[string]any)
	}
	return map[string]any{"anyOf": alts}
}

// blockSchema is the schema of a block-valued shape; a missing block is a
// mistake in a table.
func blockSchema(shape string, block schemaBlock) map[string]any {
	if block == nil {
		panic(fmt.Sprintf("scenario: a key of shape %q has no block to describe it", shape))
	}
	return block.schema()
}

// Names of the mappings with fixed keys.
func endpointKeys() []string       { return append(contract.EndpointNames(), "*") }
func rateBehaviourNames() []string { return RateBehaviours }
