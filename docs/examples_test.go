// Package docs has no code: its tests keep the CI examples of ci.md
// working. Every GitHub workflow (and workflow fragment) passes actionlint,
// and every GitLab configuration validates against GitLab's JSON Schema of
// .gitlab-ci.yml and creates its pipelines: no job needs a job that its
// pipeline lacks (a pipeline-creation error the schema cannot see).
package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// example is one ```yaml block of a document.
type example struct {
	line int // of its first line in the document
	text string
	doc  any
}

// examples are the YAML blocks of path that parse, and an error for each
// one that does not.
func examples(t *testing.T, path string) (out []example, bad []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```yaml" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && lines[i] != "```"; i++ {
		}
		text := strings.Join(lines[start:i], "\n") + "\n"
		var doc any
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			bad = append(bad, fmt.Sprintf("%s:%d: a YAML example does not parse: %v", path, start+1, err))
			continue
		}
		out = append(out, example{line: start + 1, text: text, doc: doc})
	}
	return out, bad
}

// kind says what an example is: "github" (a workflow), "github-steps" (a
// list of steps), "gitlab" (a .gitlab-ci.yml), or "" (something else: a
// scenario, a result).
func kind(doc any) string {
	switch d := doc.(type) {
	case map[string]any:
		if _, ok := d["jobs"]; ok {
			if _, ok := d["on"]; ok {
				return "github"
			}
		}
		for name, v := range d {
			if job, ok := v.(map[string]any); ok && !reserved[name] {
				if _, ok := job["script"]; ok {
					return "gitlab"
				}
			}
		}
	case []any:
		for _, v := range d {
			step, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			_, run := step["run"]
			_, uses := step["uses"]
			if !run && !uses {
				return ""
			}
		}
		if len(d) > 0 {
			return "github-steps"
		}
	}
	return ""
}

// reserved are the top-level keys of .gitlab-ci.yml that are not jobs.
var reserved = map[string]bool{"default": true, "include": true, "stages": true, "variables": true, "workflow": true,
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true, "spec": true}

const ciDoc = "ci.md"

func byKind(t *testing.T, k string) []example {
	t.Helper()
	var out []example
	all, _ := examples(t, ciDoc) // TestCIExamplesAreFound reports those that do not parse
	for _, e := range all {
		if kind(e.doc) == k {
			out = append(out, e)
		}
	}
	return out
}

// TestCIExamplesAreFound: every YAML example parses, and the examples the
// other tests check are there (a block that stops being recognised would
// pass silently).
func TestCIExamplesAreFound(t *testing.T) {
	_, bad := examples(t, ciDoc)
	for _, b := range bad {
		t.Error(b)
	}
	for k, want := range map[string]int{"github": 3, "github-steps": 1, "gitlab": 2} {
		if got := len(byKind(t, k)); got < want {
			t.Errorf("%s: %d %s examples, want at least %d", ciDoc, got, k, want)
		}
	}
}

// TestGitHubWorkflowsPassActionlint runs actionlint on every workflow of
// ci.md, and on every list of steps as the steps of a workflow's job. It
// skips when actionlint is not installed.
func TestGitHubWorkflowsPassActionlint(t *testing.T) {
	bin := actionlint(t)
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	type file struct{ line, offset int }
	files := map[string]file{} // workflow file -> its example's line, and lines added before it
	write := func(e example, text string, offset int) {
		name := fmt.Sprintf("example-line-%d.yml", e.line)
		if err := os.WriteFile(filepath.Join(wf, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = file{e.line, offset}
	}
	for _, e := range byKind(t, "github") {
		write(e, e.text, 0)
	}
	for _, e := range byKind(t, "github-steps") {
		const head = "on: push\njobs:\n  fragment:\n    runs-on: ubuntu-latest\n    steps:\n"
		write(e, head+indent(dedent(e.text), "      "), strings.Count(head, "\n"))
	}
	args := []string{"-no-color", "-oneline"}
	for _, name := range sortedKeys(files) {
		args = append(args, filepath.Join(".github", "workflows", name))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	if exitCode(err) != 1 { // 1: problems found; anything else: actionlint failed
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
	// .github/workflows/example-line-N.yml:L:C: message -> ci.md:LINE:C: message
	re := regexp.MustCompile(`(?m)^\.github/workflows/(example-line-\d+\.yml):(\d+):(\d+): (.*)$`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		f := files[m[1]]
		l, _ := strconv.Atoi(m[2])
		t.Errorf("%s:%d:%s: actionlint: %s", ciDoc, f.line+l-1-f.offset, m[3], m[4])
	}
	if !re.Match(out) {
		t.Errorf("actionlint:\n%s", out)
	}
}

// actionlint is the actionlint binary on PATH or in $(go env GOPATH)/bin;
// the test skips without one.
func actionlint(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("actionlint"); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("actionlint is not installed, so the GitHub workflows of %s are not linted: install it as .ci/run does (go install github.com/rhysd/actionlint/cmd/actionlint@VERSION)", ciDoc)
	return ""
}

func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	cut := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); cut < 0 || n < cut {
			cut = n
		}
	}
	for i, l := range lines {
		if len(l) >= cut {
			lines[i] = l[cut:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// gitlabSchema is GitLab's JSON Schema of .gitlab-ci.yml
// (testdata/gitlab-ci.schema.json; scripts/gitlab-ci-schema.sh refreshes it).
func gitlabSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/gitlab-ci.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource("gitlab-ci.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("gitlab-ci.schema.json")
	if err != nil {
		t.Fatalf("GitLab's schema does not compile: %v", err)
	}
	return sch
}

// TestGitLabExamplesAreValid validates every GitLab configuration of
// ci.md against GitLab's schema, and creates its pipelines.
func TestGitLabExamplesAreValid(t *testing.T) {
	sch := gitlabSchema(t)
	for _, e := range byKind(t, "gitlab") {
		js, err := json.Marshal(e.doc)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s:%d: not a valid .gitlab-ci.yml: %v", ciDoc, e.line, err)
		}
		for _, p := range pipelineProblems(e.doc.(map[string]any)) {
			t.Errorf("%s:%d: %s", ciDoc, e.line, p)
		}
	}
	// The schema is not lenient: a misspelt keyword fails.
	bad := map[string]any{"load-gate": map[string]any{"script": []any{"true"}, "artifact": map[string]any{}}}
	js, _ := json.Marshal(bad)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if sch.Validate(inst) == nil {
		t.Error("GitLab's schema accepted a misspelt keyword (artifact)")
	}
}
