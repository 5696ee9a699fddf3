package scenario

import (
	"path/filepath"
	"testing"
)

// TestShippedScenariosParse loads every scenario users are told to copy,
// with placeholder values for the environment variables they use.
func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("found %d scenarios (%v)", len(files), err)
	}
	bench, _ := filepath.Glob("../bench/*.yaml")
	env := func(name string) (string, bool) {
		return map[string]string{
			"EIXAM_HTTP_URL":   "https://api.example.test",
			"EIXAM_MQTT_URL":   "wss://api.example.test/ws",
			"EIXAM_APP_ID":     "partner-app",
			"EIXAM_APP_SECRET": "placeholder-secret",
		}[name], true
	}
	for _, f := range append(files, bench...) {
		if _, err := Load(f, Options{Getenv: env}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
