package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecret(t *testing.T) {
	s := Secret("hunter2-very-secret")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	js, _ := json.Marshal(map[string]Secret{"k": s})
	ys, _ := yaml.Marshal(map[string]Secret{"k": s})
	txt, _ := s.MarshalText()
	outputs := map[string]string{
		"String":  s.String(),
		"%v":      fmt.Sprintf("%v", s),
		"%+v":     fmt.Sprintf("%+v", struct{ S Secret }{s}),
		"%#v":     fmt.Sprintf("%#v", struct{ S Secret }{s}),
		"%s":      fmt.Sprintf("%s", s),
		"%q":      fmt.Sprintf("%q", s),
		"%x":      fmt.Sprintf("%x", s),
		"%d":      fmt.Sprintf("%d", s),
		"json":    string(js),
		"yaml":    string(ys),
		"text":    string(txt),
		"slog":    logged.String(),
		"println": fmt.Sprintln(s),
	}
	for name, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s = %q, want [redacted]", name, out)
		}
	}
	if s.Reveal() != "hunter2-very-secret" {
		t.Error("Reveal")
	}
	if empty := Secret(""); empty.String() != "" || fmt.Sprintf("%q", empty) != `""` {
		t.Errorf("an empty secret should print as empty, got %q", empty.String())
	}
}
