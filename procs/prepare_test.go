package procs

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/engine"
	"github.com/eixamsim/eixamsim/outcome"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestPrepareEmbedded settles a run of the embedded backend: this binary,
// the output.dir, a start one lead away on a whole second, the run id of
// the scenario and the start, and one backend that answers HTTP.
func TestPrepareEmbedded(t *testing.T) {
	sc, err := scenario.Load("../scenarios/smoke.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	cfg, err := Prepare(context.Background(), sc, Config{Count: 3})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if exe, _ := os.Executable(); cfg.Exe != exe {
		t.Errorf("Exe %q, want this binary %q", cfg.Exe, exe)
	}
	d1, _ := sc.Output.Render(sc.Name, before)
	d2, _ := sc.Output.Render(sc.Name, after)
	if cfg.Dir != d1 && cfg.Dir != d2 {
		t.Errorf("Dir %q, want the output.dir rendered for now (%q)", cfg.Dir, d1)
	}
	if cfg.StartAt.Nanosecond() != 0 || cfg.StartAt.Before(before.Add(startLead(3))) {
		t.Errorf("StartAt %v: want a whole second at least %v after %v", cfg.StartAt, startLead(3), before)
	}
	if want := engine.DeriveRunID(sc.Hash(), cfg.StartAt); cfg.RunID != want {
		t.Errorf("RunID %q, want %q", cfg.RunID, want)
	}
	if cfg.Backend == nil {
		t.Fatal("no backend for an embedded target")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(cfg.Backend.HTTP + "/v1/sdk/me")
	if err != nil {
		t.Fatalf("the backend does not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET /v1/sdk/me: %s, want 401 from the reference backend", resp.Status)
	}
}

// TestPrepareKeepsChoices keeps what the caller chose, and starts no
// backend for an external target.
func TestPrepareKeepsChoices(t *testing.T) {
	sc, err := scenario.Load("../scenarios/smoke.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sc, err = Retarget(sc, "http://127.0.0.1:1,tcp://127.0.0.1:2"); err != nil {
		t.Fatal(err)
	}
	given := Config{Count: 2, Exe: "/bin/true", Dir: t.TempDir(), RunID: "soak-7", StartAt: time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)}
	cfg, err := Prepare(context.Background(), sc, given)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if cfg.Exe != given.Exe || cfg.Dir != given.Dir || cfg.RunID != given.RunID || !cfg.StartAt.Equal(given.StartAt) || cfg.Backend != nil {
		t.Errorf("Prepare = %+v, want %+v as given", cfg, given)
	}
}

// TestPrepareRefusesTheBackendsSockets refuses an embedded backend that
// would need more sockets than this process may open, before starting it.
func TestPrepareRefusesTheBackendsSockets(t *testing.T) {
	t.Setenv("EIXAM_APP_SECRET", "x")
	sc := loadUsers(t, 100000)
	if need := backendFDs(sc); need <= FDLimit() {
		t.Skipf("this process may open %d files, more than the %d the backend needs", FDLimit(), need)
	}
	cfg, err := Prepare(context.Background(), sc, Config{Count: 6})
	if outcome.Of(err) != outcome.BadInput || cfg.Backend != nil {
		t.Fatalf("Prepare = backend %v, %v; want bad input and no backend", cfg.Backend, err)
	}
}
