package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// param is one row of the scenario table: a dotted key path and its value
// as text.
type param struct {
	Key   string
	Value string
}

// scenarioParams flattens the scenario echo of a summary into rows, in the
// order the scenario's JSON lists them: nested keys are joined with dots,
// lists of plain values with commas, and each element of a list of objects
// (stages) is one row of key=value pairs. The echo carries no secret (the
// scenario redacts them when it marshals), and nothing is added here.
func scenarioParams(scenario any) ([]param, error) {
	if scenario == nil {
		return nil, nil
	}
	raw, err := json.Marshal(scenario)
	if err != nil {
		return nil, fmt.Errorf("scenario echo: %w", err)
	}
	if string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []param
	if err := flattenJSON(dec, "", &out); err != nil {
		return nil, fmt.Errorf("scenario echo: %w", err)
	}
	return out, nil
}

// flattenJSON reads one JSON value from dec and appends its rows under
// prefix.
func flattenJSON(dec *json.Decoder, prefix string, out *[]param) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := 0
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if err := flattenJSON(dec, joinKey(prefix, key), out); err != nil {
					return err
				}
				n++
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if n == 0 && prefix != "" {
				*out = append(*out, param{prefix, "(none)"})
			}
			return nil
		case '[':
			return flattenArray(dec, prefix, out)
		}
		return errors.New("unexpected delimiter")
	default:
		*out = append(*out, param{prefix, scalarText(t)})
		return nil
	}
}

func flattenArray(dec *json.Decoder, prefix string, out *[]param) error {
	var elems [][]param
	for dec.More() {
		var sub []param
		if err := flattenJSON(dec, "", &sub); err != nil {
			return err
		}
		elems = append(elems, sub)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	plain := true
	for _, e := range elems {
		plain = plain && len(e) == 1 && e[0].Key == ""
	}
	if plain {
		vals := make([]string, len(elems))
		for i, e := range elems {
			vals[i] = e[0].Value
		}
		v := strings.Join(vals, ", ")
		if v == "" {
			v = "(none)"
		}
		*out = append(*out, param{prefix, v})
		return nil
	}
	for i, e := range elems {
		parts := make([]string, len(e))
		for j, p := range e {
			parts[j] = p.Key + "=" + p.Value
		}
		*out = append(*out, param{fmt.Sprintf("%s[%d]", prefix, i), strings.Join(parts, "  ")})
	}
	return nil
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func scalarText(v json.Token) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		if t == "" {
			return `""`
		}
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	default:
		return fmt.Sprint(t)
	}
}
