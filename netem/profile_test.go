package netem

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestValidateAcceptsUsableProfiles(t *testing.T) {
	for name, p := range map[string]Profile{
		"zero: a perfect link": {},
		"every field":          {RTT: Between(80*ms, 300*ms), Jitter: 10 * ms, Down: 5 * Mbit, Up: 1 * Mbit, Loss: 0.01, Stalls: Stalls{Every: 2 * time.Minute, For: Between(time.Second, 8*time.Second)}},
		"loss of every packet": {Loss: 1},
		"a fixed stall length": {Stalls: Stalls{Every: time.Minute, For: Exactly(time.Second)}},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range BuiltinNames() {
		p, ok := Builtin(name)
		if !ok {
			t.Fatalf("BuiltinNames lists %q, Builtin has no such profile", name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
	if len(BuiltinNames()) != len(builtins) {
		t.Errorf("BuiltinNames lists %d profiles, there are %d", len(BuiltinNames()), len(builtins))
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Profile
		field string
		says  string
	}{
		{"a negative rtt", Profile{RTT: Exactly(-ms)}, "rtt", "-1ms is negative"},
		{"a negative lower bound", Profile{RTT: Between(-ms, 80*ms)}, "rtt", "the lower bound -1ms is negative"},
		{"bounds the wrong way", Profile{RTT: Between(300*ms, 80*ms)}, "rtt", "the lower bound 300ms is above the upper bound 80ms"},
		{"a negative jitter", Profile{Jitter: -ms}, "jitter", "-1ms is negative"},
		{"a negative down", Profile{Down: -1}, "down", "-1 bit/s is negative"},
		{"a negative up", Profile{Up: -Kbit}, "up", "-1000 bit/s is negative"},
		{"loss above 100 %", Profile{Loss: 1.2}, "loss", "120% is above 100%"},
		{"a negative loss", Profile{Loss: -0.01}, "loss", "-1% is negative"},
		{"a loss that is no number", Profile{Loss: math.NaN()}, "loss", "is not a number"},
		{"a negative stall period", Profile{Stalls: Stalls{Every: -time.Second, For: Exactly(time.Second)}}, "stalls.every", "-1s is negative"},
		{"stalls of no length", Profile{Stalls: Stalls{Every: time.Minute}}, "stalls.for", "a stall needs a length above 0"},
		{"a stall length without a period", Profile{Stalls: Stalls{For: Exactly(time.Second)}}, "stalls.every", "is 0 (no stalls), yet stalls.for is 1s"},
		{"stall bounds the wrong way", Profile{Stalls: Stalls{Every: time.Minute, For: Between(8*time.Second, time.Second)}}, "stalls.for", "the lower bound 8s is above the upper bound 1s"},
	} {
		err := tc.p.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: Validate = %v, want a *FieldError", tc.name, err)
			continue
		}
		if fe.Field != tc.field || !strings.Contains(fe.Problem, tc.says) {
			t.Errorf("%s: %q; want field %s saying %q", tc.name, err, tc.field, tc.says)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Profile{RTT: Exactly(-ms), Loss: 2, Up: -1}.Validate()
	for _, field := range []string{"rtt:", "loss:", "up:"} {
		if !strings.Contains(fmt.Sprint(err), field) {
			t.Errorf("Validate = %q; want a problem with %s among them", err, field)
		}
	}
}
