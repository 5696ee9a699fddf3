// Package kubernetes holds the Kubernetes manifests of a sharded run
// (docs/distributed.md) and the tests that keep them working: every
// manifest decodes strictly into its k8s.io/api type, and the Job's
// container command, run locally once per completion index against one
// `eixamsim serve`, then the merge Job's command, make one merged result
// of the whole run.
package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/eixamsim/eixamsim/report"
)

// decodeStrict decodes a one-object YAML manifest into T; a field T does
// not have is an error.
func decodeStrict[T any](b []byte) (*T, error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// kinds are the manifests' kinds and how each is decoded.
var kinds = map[string]func([]byte) (any, error){
	"Job":                   func(b []byte) (any, error) { return decodeStrict[batchv1.Job](b) },
	"ConfigMap":             func(b []byte) (any, error) { return decodeStrict[corev1.ConfigMap](b) },
	"PersistentVolumeClaim": func(b []byte) (any, error) { return decodeStrict[corev1.PersistentVolumeClaim](b) },
}

// TestManifestsDecodeStrictly decodes every manifest into its type, by
// its kind; a misspelt field is an error (checked on a copy of job.yaml
// with one).
func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(b, &meta); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		decode, ok := kinds[meta.Kind]
		if !ok {
			t.Errorf("%s: kind %q has no decoder here", f, meta.Kind)
			continue
		}
		if _, err := decode(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, _ := os.ReadFile("job.yaml")
	bad := bytes.Replace(b, []byte("  completions: 4"), []byte("  completion: 4"), 1)
	if _, err := decodeStrict[batchv1.Job](bad); err == nil || !strings.Contains(err.Error(), "completion") {
		t.Errorf("a misspelt field decoded: %v", err)
	}
	job := readJob(t, "job.yaml")
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Errorf("job.yaml is not an Indexed Job with completions = parallelism: %+v", s)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if i := slices.Index(args, "--shards"); i < 0 || args[i+1] != strconv.Itoa(int(*s.Completions)) {
		t.Errorf("--shards in %q does not match completions %d", args, *s.Completions)
	}
}

func readJob(t *testing.T, path string) *batchv1.Job {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := decodeStrict[batchv1.Job](b)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestJobRunsLocally runs the Job as Kubernetes would, on this machine:
// the ConfigMap's files and a directory stand in for the volumes, the
// container's environment is the Job's (the app secret from a stand-in
// Secret; target, users, duration, start time, run id and metrics port
// overridden for a small local run), $(VAR) references are expanded as
// the kubelet does, and the container's command runs once per completion
// index with JOB_COMPLETION_INDEX set, all at once, against one
// `eixamsim serve`. Then the merge Job's command runs, and the merged
// summary.json must hold the whole run: every user, the run id, shards
// 0..N-1.
func TestJobRunsLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "eixamsim"), "../../cmd/eixamsim").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmb, err := os.ReadFile("configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cm, err := decodeStrict[corev1.ConfigMap](cmb)
	if err != nil {
		t.Fatal(err)
	}
	job, merge := readJob(t, "job.yaml"), readJob(t, "merge-job.yaml")
	n := int(*job.Spec.Completions)
	results := filepath.Join(tmp, "results")
	mounts := map[string]string{} // volume name -> local directory
	for _, v := range job.Spec.Template.Spec.Volumes {
		dir := filepath.Join(tmp, "volumes", v.Name)
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name == cm.Name:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, data := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		case v.PersistentVolumeClaim != nil:
			dir = results
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("volume %s: no local stand-in", v.Name)
		}
		mounts[v.Name] = dir
	}
	secrets := map[string]string{"eixamsim-app/app-secret": "k8s-test-secret"}
	const users = 12
	runID := "k8s-local-" + strconv.FormatInt(time.Now().Unix(), 10)
	c := job.Spec.Template.Spec.Containers[0]
	env := containerEnv(t, c, secrets, map[string]string{
		"USERS":        strconv.Itoa(users),
		"DURATION":     "5s",
		"RUN_ID":       runID,
		"METRICS_ADDR": "127.0.0.1:0",
	})
	env["EIXAM_API_URL"], env["EIXAM_MQTT_URL"] = startServe(t, bin, env["EIXAM_APP_ID"], env["EIXAM_APP_SECRET"])

	env["START_AT"] = time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	outs := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		cmd := podCommand(ctx, t, c, env, mounts, bin)
		cmd.Env = append(cmd.Env, "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range n {
		if code := exitCode(errs[i]); code != 0 && code != 99 {
			t.Fatalf("pod %d: exit %d (%v)\n%s", i, code, errs[i], outs[i])
		}
	}

	mc := merge.Spec.Template.Spec.Containers[0]
	menv := containerEnv(t, mc, secrets, map[string]string{"RUN_ID": runID})
	mcmd := podCommand(ctx, t, mc, menv, map[string]string{"results": results}, bin)
	mout, merr := mcmd.CombinedOutput()
	sum, err := report.ReadSummaryFile(filepath.Join(results, runID, "merged"))
	if err != nil {
		t.Fatalf("merged result: %v\nmerge output (%v):\n%s", err, merr, mout)
	}
	want := 0
	if len(sum.FailedThresholds()) > 0 {
		want = 99
	}
	if code := exitCode(merr); code != want {
		t.Errorf("merge exit %d, want %d (failed thresholds: %d)\n%s", code, want, len(sum.FailedThresholds()), mout)
	}
	if sum.Meta.RunID != runID {
		t.Errorf("merged run id %q, want %q", sum.Meta.RunID, runID)
	}
	var idx []int
	for _, sh := range sum.Meta.Shards {
		idx = append(idx, sh.Index)
	}
	if want := []int{0, 1, 2, 3}[:n]; !slices.Equal(idx, want) {
		t.Errorf("merged shards %v, want %v", idx, want)
	}
	if got := sum.Metrics["user.login"].Count; got != users {
		t.Errorf("user.login count %d, want every user of the run (%d)", got, users)
	}
	var target int
	for _, st := range sum.Stages {
		target = max(target, st.Users)
	}
	if target != users {
		t.Errorf("stage targets summed to %d, want %d", target, users)
	}
}

// containerEnv is c's environment as the kubelet builds it: values,
// secretKeyRefs from secrets ("name/key"), then the test's overrides.
func containerEnv(t *testing.T, c corev1.Container, secrets, overrides map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok {
				t.Fatalf("env %s: no stand-in for secret %s key %s", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		default:
			t.Fatalf("env %s: unsupported source", e.Name)
		}
	}
	for k, v := range overrides {
		if _, ok := env[k]; !ok {
			t.Fatalf("override %s: the container has no such variable", k)
		}
		env[k] = v
	}
	return env
}

var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(NAME) with env's NAME as the kubelet does in command
// and args ($$ is a literal $; an unknown name stays as written).
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// podCommand is c's command and args, expanded, with each volume mount's
// path replaced by its local directory, run with env and bin first on
// PATH (where `eixamsim` is).
func podCommand(ctx context.Context, t *testing.T, c corev1.Container, env, mounts map[string]string, bin string) *exec.Cmd {
	t.Helper()
	var argv []string
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		a = expand(a, env)
		for _, m := range c.VolumeMounts {
			dir, ok := mounts[m.Name]
			if !ok {
				t.Fatalf("mount %s: no local stand-in", m.Name)
			}
			a = strings.ReplaceAll(a, m.MountPath+"/", dir+"/")
		}
		argv = append(argv, a)
	}
	if argv[0] == "eixamsim" { // as found on the image's PATH
		argv[0] = filepath.Join(bin, "eixamsim")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// startServe starts `eixamsim serve` on ports it picks itself and returns
// the API and MQTT URLs it prints once it listens (a port picked here and
// freed for it could be taken before it binds, and a dial could reach
// someone else). It stops when the test ends.
func startServe(t *testing.T, bin, app, secret string) (apiURL, mqttURL string) {
	t.Helper()
	serve := exec.Command(filepath.Join(bin, "eixamsim"), "serve", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--ws", "",
		"--app", app, "--secret-env", "EIXAM_APP_SECRET")
	serve.Env = append(os.Environ(), "EIXAM_APP_SECRET="+secret)
	out, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	urls := make(chan [2]string, 1)
	go func() {
		var u [2]string
		sent := false
		sc := bufio.NewScanner(out)
		for sc.Scan() { // read to the end: serve must never block on a full pipe
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "HTTP" && f[1] == "API":
				u[0] = f[2]
			case len(f) == 2 && f[0] == "MQTT":
				u[1] = f[1]
			}
			if u[0] != "" && u[1] != "" && !sent {
				urls <- u
				sent = true
			}
		}
	}()
	select {
	case u := <-urls:
		return u[0], u[1]
	case <-time.After(30 * time.Second):
		t.Fatal("eixamsim serve printed no HTTP API and MQTT URLs in 30 s")
		return "", ""
	}
}
