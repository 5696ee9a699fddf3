package compare

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// compare.html's rules table says what compare.json says: "significant"
// only for a rule whose percentile's change is significant, and the
// judgement of the others (within noise, not enough samples).
func TestHTMLRulesNoiseMatchesJSON(t *testing.T) {
	base, slow := gateRun(1, 1), gateRun(2, 3)
	rules, err := ParseRules([]string{
		"http.me: p(50) > +50%",        // three times slower at n=200: significant
		"sos.delivered: p(99) > -100%", // n=17: not enough samples
		"http.me: p(99) > +1000%",      // n=200: not enough samples for p99
	})
	if err != nil {
		t.Fatal(err)
	}
	same := gateRun(3, 1)
	sameRules, _ := ParseRules([]string{"http.me: p(50) > -100%"}) // same distribution: within noise
	for _, tc := range []struct {
		name  string
		new   *Run
		rules []Rule
		want  []string
	}{
		{"slower", slow, rules, []string{Significant, FewSamples, FewSamples}},
		{"same", same, sameRules, []string{WithinNoise}},
	} {
		r := Compare(base, tc.new, Options{ExtraPercentiles: RulePercentiles(tc.rules)})
		if err := r.Judge(tc.rules, false); err != nil {
			t.Fatal(err)
		}
		var js bytes.Buffer
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Rules []struct {
				Significant *bool  `json:"significant"`
				Noise       string `json:"noise"`
			} `json:"rules"`
		}
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		var page bytes.Buffer
		if err := WriteHTML(&page, r); err != nil {
			t.Fatal(err)
		}
		cells := ruleNoiseCells(t, page.String())
		if len(cells) != len(tc.want) || len(back.Rules) != len(tc.want) {
			t.Fatalf("%s: %d rule rows in compare.html, %d in compare.json, want %d", tc.name, len(cells), len(back.Rules), len(tc.want))
		}
		for i, want := range tc.want {
			jr := back.Rules[i]
			if jr.Significant == nil || *jr.Significant != (want == Significant) || jr.Noise != want {
				t.Errorf("%s: rule %q in compare.json: significant %v, noise %q; want %q", tc.name, tc.rules[i].Text, jr.Significant, jr.Noise, want)
			}
			if cells[i] != want {
				t.Errorf("%s: rule %q in compare.html: noise %q, want %q", tc.name, tc.rules[i].Text, cells[i], want)
			}
		}
	}
}

// ruleNoiseCells returns the "noise" cell of each row of compare.html's
// rules table.
func ruleNoiseCells(t *testing.T, page string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(page, "<h2>Rules (--fail-on)</h2>")
	if !ok {
		t.Fatal("compare.html has no rules table")
	}
	table, _, _ := strings.Cut(rest, "</table>")
	_, body, _ := strings.Cut(table, "<tbody>")
	cell := regexp.MustCompile(`<td[^>]*>(.*?)</td>`)
	var out []string
	for _, row := range strings.Split(body, "</tr>") {
		tds := cell.FindAllStringSubmatch(row, -1)
		if len(tds) < 4 {
			continue
		}
		out = append(out, tds[3][1])
	}
	return out
}
