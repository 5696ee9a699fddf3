package docs

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// pipelines are the kinds of pipeline a .gitlab-ci.yml is checked in, by
// the predefined variables GitLab sets in each.
var pipelines = []struct {
	name string
	vars map[string]string
	mr   bool // a merge request pipeline: jobs without rules are not in it
}{
	{"a merge request pipeline", map[string]string{"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "feature"}, true},
	{"a push to the default branch", map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}, false},
	{"a push to a branch without a merge request", map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "feature"}, false},
	{"a push to a branch with an open merge request", map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "feature", "CI_OPEN_MERGE_REQUESTS": "group/project!7"}, false},
	{"a tag", map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.0", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "v1.0.0"}, false},
	{"a scheduled pipeline", map[string]string{"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}, false},
}

// pipelineProblems creates cfg's pipeline of each kind, as GitLab does
// (workflow: rules decide whether there is one; a job's rules whether it
// is in it, a job without rules being in every pipeline but a merge
// request's), and reports each job that needs a job its pipeline lacks:
// GitLab refuses to create such a pipeline.
func pipelineProblems(cfg map[string]any) []string {
	var problems []string
	jobs := map[string]map[string]any{}
	for name, v := range cfg {
		if job, ok := v.(map[string]any); ok && !reserved[name] && !strings.HasPrefix(name, ".") {
			jobs[name] = job
		}
	}
	for _, p := range pipelines {
		if wf, ok := cfg["workflow"].(map[string]any); ok {
			in, err := ruled(wf["rules"], p.vars)
			if err != nil {
				return append(problems, "workflow: "+err.Error())
			}
			if !in {
				continue // no pipeline of this kind
			}
		}
		in := map[string]bool{}
		for name, job := range jobs {
			if _, ok := job["only"]; ok {
				return append(problems, name+": only/except are not checked here; use rules")
			}
			if _, ok := job["except"]; ok {
				return append(problems, name+": only/except are not checked here; use rules")
			}
			rules, has := job["rules"]
			if !has {
				in[name] = !p.mr
				continue
			}
			ok, err := ruled(rules, p.vars)
			if err != nil {
				return append(problems, name+": "+err.Error())
			}
			in[name] = ok
		}
		for _, name := range sortedKeys(jobs) {
			if !in[name] {
				continue
			}
			for _, need := range needs(jobs[name]) {
				switch {
				case jobs[need.job] == nil:
					problems = append(problems, fmt.Sprintf("job %s needs %s, which is not a job", name, need.job))
				case !in[need.job] && !need.optional:
					problems = append(problems, fmt.Sprintf("in %s, job %s needs %s, which is not in that pipeline: GitLab refuses to create it", p.name, name, need.job))
				}
			}
		}
	}
	return problems
}

type need struct {
	job      string
	optional bool
}

// needs are a job's needs: names, or {job: NAME, optional: BOOL}.
func needs(job map[string]any) []need {
	list, _ := job["needs"].([]any)
	var out []need
	for _, n := range list {
		switch v := n.(type) {
		case string:
			out = append(out, need{job: v})
		case map[string]any:
			name, _ := v["job"].(string)
			opt, _ := v["optional"].(bool)
			out = append(out, need{job: name, optional: opt})
		}
	}
	return out
}

// ruled says whether rules put something in a pipeline with vars: the
// first rule whose if holds (or that has none) decides, by its when; no
// rule holding leaves it out.
func ruled(rules any, vars map[string]string) (bool, error) {
	list, ok := rules.([]any)
	if !ok {
		return false, fmt.Errorf("rules: want a list, got %T", rules)
	}
	for _, r := range list {
		rule, ok := r.(map[string]any)
		if !ok {
			return false, fmt.Errorf("rules: want a map, got %T", r)
		}
		for k := range rule {
			if k != "if" && k != "when" && k != "allow_failure" && k != "variables" {
				return false, fmt.Errorf("rules: %q is not checked here", k)
			}
		}
		holds := true
		if expr, ok := rule["if"].(string); ok {
			var err error
			if holds, err = evalIf(expr, vars); err != nil {
				return false, err
			}
		}
		if holds {
			return rule["when"] != "never", nil
		}
	}
	return false, nil
}

// evalIf evaluates a rules if: expression: $VARIABLE (set and not
// empty), "string" or 'string', null, == and !=, &&, || and parentheses.
// Anything else (=~, !~) is an error, never a guess.
func evalIf(expr string, vars map[string]string) (bool, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return false, fmt.Errorf("if %q: %w", expr, err)
	}
	p := &parser{toks: toks, vars: vars}
	v := p.or()
	if p.err == nil && p.pos < len(p.toks) {
		p.err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	if p.err != nil {
		return false, fmt.Errorf("if %q: %w", expr, p.err)
	}
	return v.truthy(), nil
}

// value is an operand: a string, or null (an unset variable).
type value struct {
	s    string
	null bool
}

func (v value) truthy() bool { return !v.null && v.s != "" }

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"), strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case c == '$':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case strings.HasPrefix(s[i:], "null"):
			toks = append(toks, "null")
			i += 4
		default:
			return nil, fmt.Errorf("%q is not checked here", s[i:])
		}
	}
	return toks, nil
}

type parser struct {
	toks []string
	pos  int
	vars map[string]string
	err  error
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) or() value {
	v := p.and()
	for p.peek() == "||" {
		p.pos++
		r := p.and()
		v = boolValue(v.truthy() || r.truthy())
	}
	return v
}

func (p *parser) and() value {
	v := p.cmp()
	for p.peek() == "&&" {
		p.pos++
		r := p.cmp()
		v = boolValue(v.truthy() && r.truthy())
	}
	return v
}

func (p *parser) cmp() value {
	l := p.operand()
	if op := p.peek(); op == "==" || op == "!=" {
		p.pos++
		r := p.operand()
		return boolValue((l == r) == (op == "=="))
	}
	return l
}

func (p *parser) operand() value {
	t := p.peek()
	p.pos++
	switch {
	case t == "(":
		v := p.or()
		if p.peek() != ")" {
			p.err = fmt.Errorf("missing )")
		}
		p.pos++
		return v
	case t == "null":
		return value{null: true}
	case strings.HasPrefix(t, "$"):
		v, ok := p.vars[t[1:]]
		return value{s: v, null: !ok}
	case strings.HasPrefix(t, `"`), strings.HasPrefix(t, `'`):
		return value{s: t[1 : len(t)-1]}
	}
	if p.err == nil {
		p.err = fmt.Errorf("unexpected %q", t)
	}
	return value{null: true}
}

func boolValue(b bool) value {
	if b {
		return value{s: "true"}
	}
	return value{null: true}
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// TestPipelineCheck: the check finds the pipeline GitLab refuses — the
// merge-request-only job that needs a job without rules, as ci.md once
// had it — and passes its fix; the expressions it reads are evaluated as
// GitLab does.
func TestPipelineCheck(t *testing.T) {
	parse := func(s string) map[string]any {
		var v map[string]any
		if err := yaml.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	broken := parse(`
load-gate:
  script: [run]
load-compare:
  needs: [load-gate]
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: [compare]
`)
	got := pipelineProblems(broken)
	if len(got) != 1 || !strings.Contains(got[0], "in a merge request pipeline, job load-compare needs load-gate, which is not in that pipeline") {
		t.Errorf("the broken configuration: %q", got)
	}
	fixed := parse(`
load-gate:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH
  script: [run]
load-compare:
  needs: [load-gate, {job: lint, optional: true}]
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: [compare]
lint:
  rules: [{if: '$CI_COMMIT_TAG', when: never}, {when: on_success}]
  script: [lint]
`)
	if got := pipelineProblems(fixed); len(got) != 0 {
		t.Errorf("the fixed configuration: %q", got)
	}
	if got := pipelineProblems(parse("a:\n  needs: [b]\n  script: [x]\n")); len(got) == 0 || !strings.Contains(got[0], "b, which is not a job") {
		t.Errorf("a need of no job: %q", got)
	}
	vars := map[string]string{"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "EMPTY": ""}
	for expr, want := range map[string]bool{
		`$CI_PIPELINE_SOURCE == "push"`:                          true,
		`$CI_PIPELINE_SOURCE != 'push'`:                          false,
		`$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH`:                true,
		`$CI_COMMIT_TAG`:                                         false,
		`$EMPTY`:                                                 false,
		`$CI_COMMIT_TAG == null`:                                 true,
		`$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS`:           false,
		`$CI_COMMIT_TAG || ($CI_COMMIT_BRANCH && "x" == "x")`:    true,
		`$CI_PIPELINE_SOURCE == "schedule" || $CI_COMMIT_BRANCH`: true,
	} {
		if got, err := evalIf(expr, vars); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", expr, got, err, want)
		}
	}
	if _, err := evalIf(`$CI_COMMIT_BRANCH =~ /^release/`, vars); err == nil {
		t.Error("=~ was evaluated: the check must refuse what it does not model")
	}
}
