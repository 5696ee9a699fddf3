// Package kubernetes holds the Kubernetes manifests of a sharded run
// (docs/distributed.md), a kustomize base and its overlays, and the tests
// that keep them working: every build decodes strictly into k8s.io/api
// types and passes Pod Security "restricted"; the Job's pod failure
// policy lets every shard run to its end; and the containers' commands,
// run locally as the kubelet would run them, make one merged result of
// the whole run even when a shard fails its thresholds.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eixamsim/eixamsim/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// decodeStrict decodes one object's JSON into T; a field T does not have
// is an error.
func decodeStrict[T any](j []byte) (*T, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// built is a kustomize build, decoded.
type built struct {
	jobs         map[string]*batchv1.Job
	configMaps   map[string]*corev1.ConfigMap // by name, hash suffix included
	services     map[string]*corev1.Service
	claims       map[string]*corev1.PersistentVolumeClaim
	statefulSets map[string]*appsv1.StatefulSet
}

// decodeInto decodes one resource by its kind.
func (b *built) decodeInto(kind string, j []byte) error {
	var err error
	switch kind {
	case "Job":
		var v *batchv1.Job
		if v, err = decodeStrict[batchv1.Job](j); err == nil {
			b.jobs[v.Name] = v
		}
	case "ConfigMap":
		var v *corev1.ConfigMap
		if v, err = decodeStrict[corev1.ConfigMap](j); err == nil {
			b.configMaps[v.Name] = v
		}
	case "Service":
		var v *corev1.Service
		if v, err = decodeStrict[corev1.Service](j); err == nil {
			b.services[v.Name] = v
		}
	case "PersistentVolumeClaim":
		var v *corev1.PersistentVolumeClaim
		if v, err = decodeStrict[corev1.PersistentVolumeClaim](j); err == nil {
			b.claims[v.Name] = v
		}
	case "StatefulSet":
		var v *appsv1.StatefulSet
		if v, err = decodeStrict[appsv1.StatefulSet](j); err == nil {
			b.statefulSets[v.Name] = v
		}
	default:
		return fmt.Errorf("kind %q has no decoder here", kind)
	}
	return err
}

// kustomize builds the kustomization at dir of fs and decodes every
// resource strictly.
func kustomize(t *testing.T, fs filesys.FileSystem, dir string) *built {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &built{jobs: map[string]*batchv1.Job{}, configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		claims: map[string]*corev1.PersistentVolumeClaim{}, statefulSets: map[string]*appsv1.StatefulSet{}}
	for _, r := range m.Resources() {
		j, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.decodeInto(r.GetKind(), j); err != nil {
			t.Errorf("%s: %s %s: %v", dir, r.GetKind(), r.GetName(), err)
		}
	}
	return b
}

// onDisk is the kustomizations of this directory: the base and every
// overlay.
func onDisk(t *testing.T) []string {
	t.Helper()
	overlays, err := filepath.Glob("overlays/*/kustomization.yaml")
	if err != nil || len(overlays) == 0 {
		t.Fatalf("overlays: %v %v", overlays, err)
	}
	dirs := []string{"base"}
	for _, o := range overlays {
		dirs = append(dirs, filepath.Dir(o))
	}
	return dirs
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The names the manifests give each other.
const (
	runJob      = "eixamsim"
	mergeJob    = "eixamsim-merge"
	collectSvc  = "eixamsim-collect"
	resultsPVC  = "eixamsim-results"
	fetchSet    = "eixamsim-fetch"
	placeholder = "eixamsim" // the base's image, set by an overlay's images:
)

// verdictCodes are the exit codes of a shard that ran and sent its
// results (docs/ci.md): generator-bound, not judged (too short),
// thresholds failed, aborted, interrupted.
var verdictCodes = []int32{4, 5, 99, 100, 130}

// TestKustomizeBuildsDecodeStrictly builds the base and every overlay
// with kustomize, decodes every resource strictly into its k8s.io/api
// type, and checks what the run relies on: Pod Security "restricted" on
// every container, a pod failure policy that lets every index run to its
// end, one shard count everywhere, no shared volume, the collector's
// Service where the shards send, and the image set by every overlay.
func TestKustomizeBuildsDecodeStrictly(t *testing.T) {
	for _, dir := range onDisk(t) {
		b := kustomize(t, filesys.MakeFsOnDisk(), abs(t, dir))
		t.Run(dir, func(t *testing.T) { checkBuild(t, dir, b) })
	}
	// The decoding is strict: a misspelt field fails.
	job := kustomize(t, filesys.MakeFsOnDisk(), abs(t, "base")).jobs[runJob]
	j, _ := json.Marshal(job)
	bad := bytes.Replace(j, []byte(`"completions":`), []byte(`"completion":`), 1)
	if _, err := decodeStrict[batchv1.Job](bad); err == nil || !strings.Contains(err.Error(), "completion") {
		t.Errorf("a misspelt field decoded: %v", err)
	}
}

func checkBuild(t *testing.T, dir string, b *built) {
	run, merge, fetch := b.jobs[runJob], b.jobs[mergeJob], b.statefulSets[fetchSet]
	if run == nil || merge == nil || fetch == nil || b.services[collectSvc] == nil || b.claims[resultsPVC] == nil {
		t.Fatalf("missing resources: jobs %v, services %v, claims %v, statefulsets %v", keys(b.jobs), keys(b.services), keys(b.claims), keys(b.statefulSets))
	}
	pods := map[string]corev1.PodSpec{runJob: run.Spec.Template.Spec, mergeJob: merge.Spec.Template.Spec, fetchSet: fetch.Spec.Template.Spec}
	for name, pod := range pods {
		checkRestricted(t, name, pod)
		for _, c := range pod.Containers {
			if overlay := dir != "base"; overlay == (c.Image == placeholder) {
				t.Errorf("%s/%s: image %q: the base has the placeholder %q, every overlay sets its own", name, c.Name, c.Image, placeholder)
			}
			checkRefs(t, name, c, pod, b)
		}
	}

	// The run: Indexed, every index once and to its end.
	s := run.Spec
	n := *s.Completions
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Parallelism == nil || *s.Parallelism != n {
		t.Errorf("run: not an Indexed Job with completions = parallelism")
	}
	if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 || s.MaxFailedIndexes != nil {
		t.Errorf("run: backoffLimitPerIndex %v, maxFailedIndexes %v: want 0 (no retry) and unset (every index runs)", s.BackoffLimitPerIndex, s.MaxFailedIndexes)
	}
	if s.BackoffLimit != nil && *s.BackoffLimit < n {
		t.Errorf("run: backoffLimit %d fails the whole Job, and stops every shard, once more pods than that have failed", *s.BackoffLimit)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("run: restartPolicy %q: a pod failure policy needs Never", s.Template.Spec.RestartPolicy)
	}
	c := s.Template.Spec.Containers[0]
	for _, code := range verdictCodes {
		if a := failureAction(run, c.Name, code); a != batchv1.PodFailurePolicyActionFailIndex {
			t.Errorf("run: exit %d: action %q, want FailIndex (not retried, the other indexes go on)", code, a)
		}
	}
	for _, r := range s.PodFailurePolicy.Rules {
		if e := r.OnExitCodes; e != nil && !slices.IsSorted(e.Values) {
			t.Errorf("run: exit codes %v: the API wants them sorted", e.Values)
		}
	}
	args := c.Args
	if got := flagValue(args, "--shards"); got != strconv.Itoa(int(n)) {
		t.Errorf("run: --shards %q, completions %d", got, n)
	}
	if got := flagValue(merge.Spec.Template.Spec.Containers[0].Args, "--shards"); got != strconv.Itoa(int(n)) {
		t.Errorf("merge: --shards %q, completions %d", got, n)
	}
	if slices.Contains(args, "--no-progress") || slices.Contains(args, "--quiet") || slices.Contains(args, "-q") {
		t.Errorf("run: %q: the pod log must show the status line every 10 s", args)
	}
	if merge.Spec.BackoffLimit == nil || *merge.Spec.BackoffLimit != 0 {
		t.Errorf("merge: a retried collector has lost what was sent to the first: want backoffLimit 0")
	}

	// No volume shared between pods of the run: shards write to their own.
	for _, v := range s.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("run: volume %s is a claim: the shards must need no shared storage", v.Name)
		}
	}
	if modes := b.claims[resultsPVC].Spec.AccessModes; !slices.Equal(modes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("results claim: access modes %v, want ReadWriteOnce (what EKS, GKE and AKS give)", modes)
	}

	// The shards send to the collector's Service, which selects the merge
	// pod and reaches its port.
	svc := b.services[collectSvc]
	env := literalEnv(c)
	want := fmt.Sprintf("http://%s:%d", svc.Name, svc.Spec.Ports[0].Port)
	if env["RESULTS_TO"] != want || flagValue(args, "--results-to") != "$(RESULTS_TO)" {
		t.Errorf("run: --results-to %q with RESULTS_TO %q, want the Service, %s", flagValue(args, "--results-to"), env["RESULTS_TO"], want)
	}
	labels := merge.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("service selector %s=%s does not select the merge pod (%v)", k, v, labels)
		}
	}
	mc := merge.Spec.Template.Spec.Containers[0]
	port := svc.Spec.Ports[0].TargetPort.String()
	if !slices.ContainsFunc(mc.Ports, func(p corev1.ContainerPort) bool { return p.Name == port }) ||
		!strings.HasSuffix(literalEnv(mc)["COLLECT_ADDR"], ":"+strconv.Itoa(int(mc.Ports[0].ContainerPort))) {
		t.Errorf("service target port %q, merge ports %v, COLLECT_ADDR %q", port, mc.Ports, literalEnv(mc)["COLLECT_ADDR"])
	}
}

// checkRestricted checks Pod Security "restricted" on every container of
// pod, with the container's settings over the pod's, and that every
// writable mount is a volume.
func checkRestricted(t *testing.T, name string, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: shares a host namespace", name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token it has no use for", name)
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: hostPath volume %s", name, v.Name)
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s/%s: no securityContext", name, c.Name)
			continue
		}
		nonRoot := or(sc.RunAsNonRoot, psc.RunAsNonRoot)
		uid := or(sc.RunAsUser, psc.RunAsUser)
		seccomp := or(sc.SeccompProfile, psc.SeccompProfile)
		switch {
		case nonRoot == nil || !*nonRoot:
			t.Errorf("%s/%s: runAsNonRoot is not true", name, c.Name)
		case uid != nil && *uid == 0:
			t.Errorf("%s/%s: runAsUser 0", name, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: allowPrivilegeEscalation is not false", name, c.Name)
		case sc.Privileged != nil && *sc.Privileged:
			t.Errorf("%s/%s: privileged", name, c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("%s/%s: capabilities %+v, want drop [ALL] and nothing added", name, c.Name, sc.Capabilities)
		case seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s/%s: seccompProfile %+v, want RuntimeDefault", name, c.Name, seccomp)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: the root filesystem is writable", name, c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
				t.Errorf("%s/%s: mount %s has no volume", name, c.Name, m.Name)
			}
		}
	}
}

// checkRefs checks that every ConfigMap c and pod refer to is in the build
// with the keys they read (the kubelet would not start the pod).
func checkRefs(t *testing.T, name string, c corev1.Container, pod corev1.PodSpec, b *built) {
	t.Helper()
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.ConfigMapKeyRef
		cm := b.configMaps[ref.Name]
		if cm == nil || !hasKey(cm.Data, ref.Key) {
			t.Errorf("%s/%s: env %s: ConfigMap %s key %s is not in the build", name, c.Name, e.Name, ref.Name, ref.Key)
		}
	}
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && b.configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("%s: volume %s: ConfigMap %s is not in the build", name, v.Name, v.ConfigMap.Name)
		}
		if v.PersistentVolumeClaim != nil && b.claims[v.PersistentVolumeClaim.ClaimName] == nil {
			t.Errorf("%s: volume %s: claim %s is not in the build", name, v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
}

// failureAction is what job's pod failure policy does with a pod whose
// container exited with code, as the Job controller evaluates it: the
// first rule whose exit codes match (pod conditions do not arise here);
// Count, the default, when none does.
func failureAction(job *batchv1.Job, container string, code int32) batchv1.PodFailurePolicyAction {
	if job.Spec.PodFailurePolicy == nil {
		return batchv1.PodFailurePolicyActionCount
	}
	for _, r := range job.Spec.PodFailurePolicy.Rules {
		e := r.OnExitCodes
		if e == nil || (e.ContainerName != nil && *e.ContainerName != container) {
			continue
		}
		in := slices.Contains(e.Values, code)
		if (e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) || (e.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
			return r.Action
		}
	}
	return batchv1.PodFailurePolicyActionCount
}

// flagValue is the argument after flag in args, "" without one.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// literalEnv is c's env given as values.
func literalEnv(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func or[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}
