package kubernetes

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestImage checks the Dockerfile and .dockerignore against what the
// manifests need (docker cannot run here): the binary is built by
// scripts/build.sh from build arguments, the image runs as the numeric
// user the pods run as, and the build context leaves out .git and local
// binaries and results.
func TestImage(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(df)
	for _, want := range []string{"ARG VERSION REVISION REVISION_TIME", "RUN scripts/build.sh /out/eixamsim", "COPY --from=build /out/eixamsim /usr/local/bin/eixamsim"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile: no %q", want)
		}
	}
	m := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("Dockerfile: no numeric USER uid:gid (runAsNonRoot cannot check a name)")
	}
	uid, _ := strconv.ParseInt(m[1], 10, 64)
	b := kustomize(t, filesys.MakeFsOnDisk(), abs(t, "base"))
	for name, j := range b.jobs {
		if sc := j.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != uid {
			t.Errorf("%s: runAsUser is not the image's user %d", name, uid)
		}
	}

	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ignored []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			ignored = append(ignored, l)
		}
	}
	for _, want := range []string{".git", "bin/", "results/"} {
		if !slices.Contains(ignored, want) {
			t.Errorf(".dockerignore does not leave out %s: %v", want, ignored)
		}
	}
	for _, need := range []string{"scripts", "scripts/", "go.mod", "cmd", "cmd/"} {
		if slices.Contains(ignored, need) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", need)
		}
	}
}

// TestBuildScriptStampsTheVersion builds with scripts/build.sh as the
// Dockerfile does (the version from build arguments, no git) and checks
// that the binary reports it; without a revision and without git the
// script refuses.
func TestBuildScriptStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "eixamsim")
	noGit := []string{"GIT_DIR=" + filepath.Join(t.TempDir(), "no-git")}
	build := exec.Command("sh", "../../scripts/build.sh", out)
	build.Env = append(cleanEnv(), append(noGit, "VERSION=v9.8.7-test", "REVISION=0123456789abcdef", "REVISION_TIME=2026-11-30T12:00:00Z")...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "eixamsim v9.8.7-test (0123456789abcdef, 2026-11-30T12:00:00Z) go"; !strings.HasPrefix(string(v), want) {
		t.Errorf("version: %q, want it to start %q", v, want)
	}

	refuse := exec.Command("sh", "../../scripts/build.sh", filepath.Join(t.TempDir(), "x"))
	refuse.Env = append(cleanEnv(), noGit...)
	b, err := refuse.CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(b), "no REVISION and no git repository") {
		t.Errorf("without a revision: %v\n%s", err, b)
	}
}

// cleanEnv is the environment without the variables build.sh reads.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "VERSION" || name == "REVISION" || name == "REVISION_TIME"
	})
}
