package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// parsePromFlags registers the shared Prometheus flags on a new flag set,
// parses args and returns the remote-write config pushConfig makes.
func parsePromFlags(t *testing.T, env map[string]string, args ...string) (p promFlags, fl *pflag.FlagSet, err error) {
	t.Helper()
	fl = pflag.NewFlagSet("test", pflag.ContinueOnError)
	p.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	_, err = p.pushConfig(fl, func(k string) string { return env[k] })
	return p, fl, err
}

func TestRemoteWriteFlags(t *testing.T) {
	const url = "http://127.0.0.1:9090/api/v1/write"
	fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
	var p promFlags
	p.register(fl)
	if err := fl.Parse([]string{"--remote-write", url, "--remote-write-label", "env=ci", "--remote-write-label", "job=soak",
		"--remote-write-header", "X-Scope-OrgID: tenant-1", "--remote-write-interval", "2s"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := p.pushConfig(fl, func(k string) string { return map[string]string{envRemoteWriteToken: "tok"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Labels["env"] != "ci" || cfg.Labels["job"] != "soak" || cfg.Headers.Get("X-Scope-OrgID") != "tenant-1" ||
		cfg.Interval.Seconds() != 2 || cfg.BearerToken != "tok" || cfg.BasicAuth != nil {
		t.Errorf("config %+v", cfg)
	}
	cfg, err = p.pushConfig(fl, func(k string) string {
		return map[string]string{envRemoteWriteUser: "u", envRemoteWritePassword: "pw"}[k]
	})
	if err != nil || cfg.BasicAuth == nil || cfg.BasicAuth.User != "u" || cfg.BasicAuth.Password != "pw" || cfg.BearerToken != "" {
		t.Errorf("basic auth: %+v, %v", cfg.BasicAuth, err)
	}

	bad := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"label without --remote-write", nil, []string{"--remote-write-label", "a=b"}, "--remote-write-label needs --remote-write"},
		{"interval without --remote-write", nil, []string{"--remote-write-interval", "1s"}, "--remote-write-interval needs --remote-write"},
		{"label without a value", nil, []string{"--remote-write", url, "--remote-write-label", "env="}, "want NAME=VALUE"},
		{"label with a bad name", nil, []string{"--remote-write", url, "--remote-write-label", "my-env=x"}, "not a label name"},
		{"label of eixamsim's own", nil, []string{"--remote-write", url, "--remote-write-label", "shard=1"}, "eixamsim sets the label shard"},
		{"a label twice", nil, []string{"--remote-write", url, "--remote-write-label", "a=1", "--remote-write-label", "a=2"}, "given twice"},
		{"header without a colon", nil, []string{"--remote-write", url, "--remote-write-header", "Authorization Bearer hunter2"}, "want 'NAME: VALUE'"},
		{"protocol header", nil, []string{"--remote-write", url, "--remote-write-header", "Content-Encoding: gzip"}, "set by the remote-write protocol"},
		{"zero interval", nil, []string{"--remote-write", url, "--remote-write-interval", "0s"}, "positive duration"},
		{"token and basic auth", map[string]string{envRemoteWriteToken: "hunter2", envRemoteWriteUser: "u"}, []string{"--remote-write", url}, "not both"},
		{"password without user", map[string]string{envRemoteWritePassword: "hunter2"}, []string{"--remote-write", url}, "without $" + envRemoteWriteUser},
	}
	for _, tt := range bad {
		_, _, err := parsePromFlags(t, tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows a credential: %v", tt.name, err)
		}
	}
	// Every problem at once.
	_, _, err = parsePromFlags(t, nil, "--remote-write", url, "--remote-write-label", "x", "--remote-write-label", "le=1")
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), "le") {
		t.Errorf("two bad labels: %v, want both named", err)
	}
}

func TestInstanceName(t *testing.T) {
	if got := instanceName(func(string) string { return "eixamsim-run-2-abcde" }); got != "eixamsim-run-2-abcde" {
		t.Errorf("instance %q, want the pod name", got)
	}
	host, _ := os.Hostname()
	if got := instanceName(func(string) string { return "" }); got != host {
		t.Errorf("instance %q, want the host name %q", got, host)
	}
}

func TestRemoteWriteHeaderIsScrubbed(t *testing.T) {
	got := scrubArgs([]string{"run", "x.yaml", "--remote-write-header", "Authorization: Bearer hunter2", "--remote-write-header=X-Key: hunter2"})
	line := strings.Join(got, " ")
	if strings.Contains(line, "hunter2") || !strings.Contains(line, "Authorization: "+redacted) || !strings.Contains(line, "--remote-write-header=X-Key: "+redacted) {
		t.Errorf("scrubbed %q", line)
	}
}

func TestCapacityPrometheusUsageErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.yaml")
	if err := os.WriteFile(path, []byte(header+"name: cap\nduration: 3s\ncapacity: { start: 2, max: 4 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"capacity", path, "--remote-write-label", "a=b"}, "--remote-write-label needs --remote-write"},
		{[]string{"capacity", path, "--remote-write", "ftp://x"}, "--remote-write"},
		{[]string{"capacity", path, "--procs", "2", "--metrics-addr", "127.0.0.1:0"}, "use --remote-write"},
	} {
		code, _, stderr := cli(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}
