package kubernetes

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net/http"
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
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eixamsim/eixamsim/internal/testbin"
	"github.com/eixamsim/eixamsim/report"
)

// localUsers and the rule added below make exactly one shard fail its thresholds:
// 9 users over the 4 shards are 3, 2, 2 and 2, and a count rule is judged
// on a shard's slice as the count × 1/4 rounded in its favour, so
// "count < 9" is "count < 3" on each slice: shard 0 (3 logins) fails, the
// others pass, and the whole run (9 logins) fails.
// The base's telemetry interval is shortened so that a 5 s run has
// telemetry to judge.
var scenarioEdits = []struct{ old, new string }{
	{`user.login: ["errors < 0.1%"]`, `user.login: ["errors < 0.1%", "count < 9"]`},
	{`telemetry: { every: 30s, jitter: 10% }`, `telemetry: { every: 1s, jitter: 10% }`},
}

const localUsers = 9

// TestJobRunsLocally runs the example overlay's Jobs as Kubernetes would
// run them, on this machine: a test overlay on top of it gives the run its
// id, start time, size and loopback target (the run ConfigMap) and a
// scenario with one more rule, which only shard 0 fails; the kustomize
// build's containers run as the kubelet runs them ($(VAR) expanded from
// the env, ConfigMap and Secret references resolved, volumes replaced by
// directories, the pod network by loopback): the merge Job's collector
// first, then the run Job's pod once per completion index, all at once,
// against one `eixamsim serve`. Shard 0 exits 99, which the Job's pod
// failure policy takes as its index's end; the others exit 0; every shard
// sends its results to the collector, which merges the whole run and
// exits 99 with shard 0's failure in the verdict.
func TestJobRunsLocally(t *testing.T) {
	bin := testbin.Path(t, "../../cmd/eixamsim")
	tmp := t.TempDir()
	runID := "k8s-local-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secrets := map[string]string{"eixamsim-app/app-secret": "k8s-test-secret"}
	// Every server picks its own port and says which: a port picked here
	// and freed for it could be taken by another process before it binds.
	apiURL, mqttURL := startServe(t, bin, testAppID, secrets["eixamsim-app/app-secret"])

	// The start time leaves room for five processes of a -race binary to
	// start on two loaded cores.
	startAt := time.Now().Add(10 * time.Second).UTC().Format(time.RFC3339)
	b := kustomize(t, testOverlay(t, map[string]string{
		"RUN_ID":          runID,
		"START_AT":        startAt,
		"USERS":           strconv.Itoa(localUsers),
		"DURATION":        "5s",
		"EIXAM_API_URL":   apiURL,
		"EIXAM_MQTT_URL":  mqttURL,
		"COLLECT_TIMEOUT": "3m",
		"EIXAM_APP_ID":    testAppID,
	}), "/k/overlays/test-local")
	run, merge := b.jobs[runJob], b.jobs[mergeJob]
	n := int(*run.Spec.Completions)
	rc, mc := run.Spec.Template.Spec.Containers[0], merge.Spec.Template.Spec.Containers[0]

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	volumes := newVolumes(t, tmp, b)
	// The pod network, on loopback: every pod its own ports.
	network := map[string]string{"METRICS_ADDR": "127.0.0.1:0", "COLLECT_ADDR": "127.0.0.1:0"}
	collector := podCommand(ctx, t, mc, merge.Spec.Template.Spec, containerEnv(t, mc, b, secrets, network), volumes.pod("merge"), bin)
	mergeOut := &watchedLog{listening: make(chan string, 1)}
	collector.Stdout, collector.Stderr = mergeOut, mergeOut
	if err := collector.Start(); err != nil {
		t.Fatal(err)
	}
	collected := make(chan error, 1)
	go func() { collected <- collector.Wait() }()
	var collectAddr string
	select {
	case collectAddr = <-mergeOut.listening:
	case err := <-collected:
		t.Fatalf("the collector exited: %v\n%s", err, mergeOut)
	case <-time.After(30 * time.Second):
		t.Fatalf("the collector said nothing of its address in 30 s:\n%s", mergeOut)
	}
	waitStatus(t, "http://"+collectAddr+"/v1/status", collected)
	network["RESULTS_TO"] = "http://" + collectAddr
	env := containerEnv(t, rc, b, secrets, network)

	var wg sync.WaitGroup
	outs := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		cmd := podCommand(ctx, t, rc, run.Spec.Template.Spec, env, volumes.pod("run-"+strconv.Itoa(i)), bin)
		cmd.Env = append(cmd.Env, "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
		wg.Go(func() { outs[i], errs[i] = cmd.CombinedOutput() })
	}
	wg.Wait()
	mergeErr := <-collected
	for i := range n {
		want := 0
		if i == 0 {
			want = 99
		}
		code := exitCode(errs[i])
		if code == 5 && want == 0 {
			want = 5 // a 5 s run is too short to judge its generator (docs/health.md)
		}
		if code != want {
			t.Errorf("pod %d: exit %d, want %d\n%s", i, code, want, outs[i])
		} else if code != 0 && failureAction(run, rc.Name, int32(code)) != batchv1.PodFailurePolicyActionFailIndex {
			t.Errorf("pod %d: exit %d would not end only its index", i, code)
		}
		if !strings.Contains(string(outs[i]), "eixamsim: results sent to http://"+collectAddr) {
			t.Errorf("pod %d did not send its results:\n%s", i, outs[i])
		}
	}

	// The merged result is where the fetch pod finds it (step 6).
	out := expand(flagValue(mc.Args, "--out"), containerEnv(t, mc, b, secrets, network))
	fetch := b.statefulSets[fetchSet].Spec.Template.Spec
	if !mountedFrom(fetch, out, resultsPVC) || !mountedFrom(merge.Spec.Template.Spec, out, resultsPVC) {
		t.Errorf("the merged result %s is not on the results claim in both the merge and the fetch pod", out)
	}
	sum, err := report.ReadSummaryFile(volumes.local(merge.Spec.Template.Spec, mc, "merge", out))
	if err != nil {
		t.Fatalf("merged result: %v\nmerge output (%v):\n%s", err, mergeErr, mergeOut)
	}
	if code := exitCode(mergeErr); code != 99 {
		t.Errorf("merge exit %d, want 99 (a threshold failed)\n%s", code, mergeOut)
	}
	var idx []int
	for _, sh := range sum.Meta.Shards {
		idx = append(idx, sh.Index)
	}
	if want := []int{0, 1, 2, 3}[:n]; sum.Meta.RunID != runID || !slices.Equal(idx, want) {
		t.Errorf("merged run %q shards %v, want %q %v", sum.Meta.RunID, idx, runID, want)
	}
	if got := sum.Metrics["user.login"].Count; got != localUsers {
		t.Errorf("user.login count %d, want every user of the run (%d)", got, localUsers)
	}
	failed := sum.FailedThresholds()
	if len(failed) != 1 || failed[0].Metric != "user.login" || failed[0].Rule != "count < 9" || failed[0].Observed != "9" {
		t.Errorf("merged verdict: failed %+v, want user.login: count < 9 (observed 9)", failed)
	}
	shard0, err := report.ReadSummaryFile(filepath.Join(volumes.local(merge.Spec.Template.Spec, mc, "merge", out), "shards", fmt.Sprintf("run-shard-0-of-%d", n)))
	if err != nil || len(shard0.FailedThresholds()) != 1 || shard0.FailedThresholds()[0].Rule != "count < 3" {
		t.Errorf("shard 0's own result, as collected: %v %+v", err, shard0)
	}
	if !strings.Contains(mergeOut.String(), "shard 0 of 4: results in (completed, 1 threshold failed on its slice)") {
		t.Errorf("the collector's log does not name shard 0's failure:\n%s", mergeOut)
	}
}

// testOverlay is an in-memory copy of base/ and overlays/, with
// overlays/test-local on top of the example overlay: the run ConfigMap's
// values merged over, and the base's scenario with scenarioEdits.
func testOverlay(t *testing.T, run map[string]string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for _, top := range []string{"base", "overlays"} {
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return mem.WriteFile("/k/"+filepath.ToSlash(p), data)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("base/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc := string(b)
	for _, e := range scenarioEdits {
		if strings.Count(sc, e.old) != 1 {
			t.Fatalf("base/scenario.yaml has no %s to change", e.old)
		}
		sc = strings.Replace(sc, e.old, e.new, 1)
	}
	var lits []string
	for k, v := range run {
		lits = append(lits, k+"="+v)
	}
	slices.Sort(lits)
	kust := `resources: [../example]
configMapGenerator:
  - name: eixamsim-run
    behavior: merge
    literals: [` + strings.Join(lits, ", ") + `]
  - name: eixamsim-scenario
    behavior: replace
    files: [scenario.yaml]
`
	for name, data := range map[string]string{
		"kustomization.yaml": kust,
		"scenario.yaml":      sc,
	} {
		if err := mem.WriteFile("/k/overlays/test-local/"+name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// volumes are the local stand-ins of the pods' volumes: a ConfigMap's
// files in a directory, a claim one directory for every pod that mounts
// it, an emptyDir one directory (see below).
type volumes struct {
	t    *testing.T
	root string
	b    *built
}

func newVolumes(t *testing.T, root string, b *built) *volumes {
	return &volumes{t: t, root: root, b: b}
}

// pod gives the local directory of each volume of the pod named pod.
func (v *volumes) pod(pod string) func(corev1.Volume) string {
	return func(vol corev1.Volume) string {
		var dir string
		switch {
		case vol.ConfigMap != nil:
			cm := v.b.configMaps[vol.ConfigMap.Name]
			dir = filepath.Join(v.root, "configmaps", cm.Name)
			for name, data := range cm.Data {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					v.t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					v.t.Fatal(err)
				}
			}
		case vol.PersistentVolumeClaim != nil:
			dir = filepath.Join(v.root, "claims", vol.PersistentVolumeClaim.ClaimName)
		case vol.EmptyDir != nil:
			// Every pod has its emptyDir at the same path, and the
			// path is part of the scenario (output.dir) whose hash
			// the shards must share: one local directory stands in for
			// each pod's, as the shards write only their own
			// run-shard-<i>-of-<N> in it.
			dir = filepath.Join(v.root, "emptydirs", vol.Name)
		default:
			v.t.Fatalf("volume %s: no local stand-in", vol.Name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			v.t.Fatal(err)
		}
		return dir
	}
}

// local is the local path of the container path p in pod named name.
func (v *volumes) local(spec corev1.PodSpec, c corev1.Container, name, p string) string {
	for _, m := range c.VolumeMounts {
		if rest, ok := strings.CutPrefix(p, m.MountPath+"/"); ok {
			for _, vol := range spec.Volumes {
				if vol.Name == m.Name {
					return filepath.Join(v.pod(name)(vol), rest)
				}
			}
		}
	}
	v.t.Fatalf("%s is on no volume of %s", p, name)
	return ""
}

// mountedFrom says whether path p of the pod's container is on claim.
func mountedFrom(spec corev1.PodSpec, p, claim string) bool {
	for _, m := range spec.Containers[0].VolumeMounts {
		if strings.HasPrefix(p, m.MountPath+"/") {
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
					return true
				}
			}
		}
	}
	return false
}

// containerEnv is c's environment as the kubelet builds it: values,
// ConfigMap keys from the build, Secret keys from secrets ("name/key"),
// then network's values for the pod-network addresses the container has
// as literal values.
func containerEnv(t *testing.T, c corev1.Container, b *built, secrets, network map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
			if v, ok := network[e.Name]; ok {
				env[e.Name] = v
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			env[e.Name] = b.configMaps[ref.Name].Data[ref.Key] // checked by checkRefs
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok {
				t.Fatalf("env %s: no stand-in for secret %s key %s", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = "eixamsim-local" // the pod's name
		default:
			t.Fatalf("env %s: unsupported source", e.Name)
		}
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

// podCommand is c's command and args, expanded, with each mount's path
// replaced by its volume's local directory, run with env and bin's
// directory first on PATH (where the image has `eixamsim`).
func podCommand(ctx context.Context, t *testing.T, c corev1.Container, spec corev1.PodSpec, env map[string]string, volume func(corev1.Volume) string, bin string) *exec.Cmd {
	t.Helper()
	dirs := map[string]string{}
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		dirs[m.MountPath] = volume(spec.Volumes[i])
	}
	var argv []string
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		a = expand(a, env)
		for mount, dir := range dirs {
			if rest, ok := strings.CutPrefix(a, mount+"/"); ok {
				a = filepath.Join(dir, rest)
			}
		}
		argv = append(argv, a)
	}
	if argv[0] != "eixamsim" {
		t.Fatalf("the container runs %q, not the image's eixamsim", argv[0])
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
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

// testAppID is the app the local run signs its users for.
const testAppID = "k8s-local-app"

// startServe starts `eixamsim serve` on ports it picks itself and returns
// the API and MQTT URLs it prints once it listens. It stops when the test
// ends.
func startServe(t *testing.T, bin, app, secret string) (apiURL, mqttURL string) {
	t.Helper()
	serve := exec.Command(bin, "serve", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--ws", "",
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

// watchedLog keeps a process's output and sends, once, the address of its
// "collector listening on ADDR" line.
type watchedLog struct {
	mu        sync.Mutex
	buf       strings.Builder
	listening chan string
	told      bool
}

func (w *watchedLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.told {
		const mark = "collector listening on "
		if _, rest, ok := strings.Cut(w.buf.String(), mark); ok {
			if addr, _, ok := strings.Cut(rest, "\n"); ok {
				w.listening <- strings.TrimSpace(addr)
				w.told = true
			}
		}
	}
	return len(p), nil
}

func (w *watchedLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitStatus waits (up to 30 s) until the collector answers its status
// URL, as its readiness probe does; exited reports a collector that ended.
func waitStatus(t *testing.T, url string, exited chan error) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the collector exited: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("the collector does not answer %s after 30 s", url)
}
