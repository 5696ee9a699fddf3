package scenario

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// compileSchema compiles Schema() with a draft 2020-12 validator, which
// also checks it against the draft's meta-schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("scenario.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("scenario.schema.json")
	if err != nil {
		t.Fatalf("Schema() does not compile: %v", err)
	}
	return sch
}

// yamlInstance turns a YAML document into the JSON value a schema
// validator checks (as an editor's YAML language server does).
func yamlInstance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaAcceptsScenarios validates every shipped scenario, every valid
// fixture and the JSON echo of each against the generated schema.
func TestSchemaAcceptsScenarios(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("../scenarios/*.yaml")
	valid, _ := filepath.Glob("testdata/valid/*.yaml")
	bench, _ := filepath.Glob("../bench/*.yaml")
	files = append(append(files, valid...), bench...)
	if len(files) < 8 {
		t.Fatalf("found %d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlInstance(t, data)); err != nil {
			t.Errorf("%s does not validate:\n%v", f, err)
		}
		if strings.Contains(f, "testdata") {
			s := mustLoad(t, f, Options{})
			var echo map[string]any
			_ = json.Unmarshal([]byte(mustJSON(t, s)), &echo)
			delete(echo, "file") // the echo's extra key
			js, _ := json.Marshal(echo)
			if err := sch.Validate(yamlInstance(t, js)); err != nil {
				t.Errorf("the JSON echo of %s does not validate:\n%v", f, err)
			}
		}
	}
}

// TestSchemaRejects checks that unknown keys, at any depth, and values of
// the wrong shape are rejected.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	ok := base + "stages: [{ for: 1s, users: 50%, rates: { sos: 1/s } }]\nbehaviours: { sos: { rate: 1/s, hold: 1s..2s }, telemetry: { every: 1s, position: { around: [1, 2] } } }\nseed: 5\n"
	if err := sch.Validate(yamlInstance(t, []byte(ok))); err != nil {
		t.Fatalf("a valid scenario is rejected:\n%v", err)
	}
	tests := map[string]string{
		"unknown root key":      base + "behaviors: {}\n",
		"unknown fleet key":     strings.Replace(base, "users: 10", "usrs: 10", 1),
		"unknown nested key":    base + "behaviours: { telemetry: { evry: 1s } }\n",
		"unknown stage key":     base + "stages: [{ for: 1s, user: 5 }]\n",
		"unknown endpoint":      base + "target: { embedded: { error_rate: { sos_cancle: 5% } } }\n",
		"unknown mix operation": base + "behaviours: { contacts: { rate: 1/s, mix: { craete: 1 } } }\n",
		"unknown metric":        base + "thresholds: { sos.deliverd: [\"p(95) < 2s\"] }\n",
		"a word for a number":   strings.Replace(base, "users: 10", "users: many", 1),
		"a bad enum":            base + "behaviours: { sos: { rate: 1/s, end: close } }\n",
		"a bad duration":        strings.Replace(base, "users: 10", "users: 10, keep_alive: soon", 1),
		"a bad rate":            strings.Replace(base, "users: 10", "users: 10, connect_rate: fast", 1),
		"no version":            strings.Replace(base, "version: 1\n", "", 1),
	}
	for name, yaml := range tests {
		if err := sch.Validate(yamlInstance(t, []byte(yaml))); err == nil {
			t.Errorf("%s: accepted:\n%s", name, yaml)
		}
	}
}

// TestSchemaFromTables checks that the schema has every key of every
// table with its description, so it cannot drift from the decoder.
func TestSchemaFromTables(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatal(err)
	}
	props := root["properties"].(map[string]any)
	for _, k := range scenarioKeys {
		if k.decode == nil {
			if _, ok := props[k.name]; ok {
				t.Errorf("%s is echoed only, but in the schema", k.name)
			}
			continue
		}
		p, ok := props[k.name].(map[string]any)
		if !ok || p["description"] != k.doc {
			t.Errorf("%s: %v", k.name, props[k.name])
		}
	}
	fleet := props["fleet"].(map[string]any)["properties"].(map[string]any)
	for _, k := range fleetKeys {
		if p, ok := fleet[k.name].(map[string]any); !ok || p["description"] != k.doc {
			t.Errorf("fleet.%s: %v", k.name, fleet[k.name])
		}
	}
	if !bytes.Equal(Schema(), Schema()) {
		t.Error("Schema() is not stable")
	}
}
