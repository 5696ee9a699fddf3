package scenario

import (
	"bytes"
	"encoding/json"
	"time"
)

// JSON: a resolved scenario marshals with the file's snake_case keys and
// value syntax (durations "5s", rates "5/s", percentages "20%"), secrets
// redacted and sessions left out, so that the echo in summary.json reads
// like the scenario that ran. Parsing that JSON (it is YAML too) gives the
// same scenario back, apart from the redacted secret and the "file" key.
// Write it with a json.Encoder that has SetEscapeHTML(false), or rules
// read "p(95) \u003c 2s".

func dur(d time.Duration) string { return d.String() }

// marshal is json.Marshal without HTML escaping, so rules read "p(95) < 2s"
// (an outer encoder that escapes HTML still does).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var (
	_ json.Marshaler = Scenario{}
	_ json.Marshaler = Target{}
	_ json.Marshaler = Embedded{}
	_ json.Marshaler = Identity{}
	_ json.Marshaler = Fleet{}
	_ json.Marshaler = Stage{}
	_ json.Marshaler = Behaviours{}
	_ json.Marshaler = Thresholds{}
	_ json.Marshaler = Rate{}
	_ json.Marshaler = Secret("")
)

// MarshalJSON implements json.Marshaler.
func (s Scenario) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		Version     int        `json:"version"`
		Name        string     `json:"name"`
		Description string     `json:"description,omitempty"`
		File        string     `json:"file,omitempty"`
		Target      Target     `json:"target"`
		Identity    Identity   `json:"identity"`
		Fleet       Fleet      `json:"fleet"`
		Stages      []Stage    `json:"stages"`
		Behaviours  Behaviours `json:"behaviours"`
		Thresholds  Thresholds `json:"thresholds"`
		Output      Output     `json:"output"`
	}{s.Version, s.Name, s.Description, s.File, s.Target, s.Identity, s.Fleet, s.Stages, s.Behaviours, s.Thresholds, s.Output})
}

// MarshalJSON implements json.Marshaler; the hash shows as "[redacted]".
func (s Session) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		AppID          string `json:"app_id"`
		ExternalUserID string `json:"external_user_id"`
		UserHash       Secret `json:"user_hash"`
	}{s.AppID, s.ExternalUserID, s.UserHash})
}

// MarshalJSON implements json.Marshaler.
func (st Stage) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		Name  string            `json:"name"`
		For   string            `json:"for"`
		Users int               `json:"users"`
		Rates map[string]string `json:"rates,omitempty"`
		Ramp  string            `json:"ramp,omitempty"`
	}{st.Name, dur(st.For), st.Users, stageRates(st.Rates), st.Ramp})
}

func stageRates(rates map[string]Rate) map[string]string {
	if len(rates) == 0 {
		return nil
	}
	out := make(map[string]string, len(rates))
	for k, r := range rates {
		out[k] = r.String()
	}
	return out
}

// MarshalJSON writes the thresholds as in the file: an object from metric
// name to its rules (as written), in file order, then abort_on_fail and
// abort_grace when set.
func (t Thresholds) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	field := func(key string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := marshal(key)
		val, err := marshal(v)
		if err != nil {
			return err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
		return nil
	}
	for _, mr := range t.Metrics {
		rules := make([]string, len(mr.Rules))
		for i, r := range mr.Rules {
			rules[i] = r.Source
			if rules[i] == "" {
				rules[i] = r.String()
			}
		}
		if err := field(mr.Metric, rules); err != nil {
			return nil, err
		}
	}
	if len(t.AbortOnFail) > 0 {
		if err := field(keyAbortOnFail, t.AbortOnFail); err != nil {
			return nil, err
		}
	}
	if t.AbortGrace != 0 {
		if err := field(keyAbortGrace, dur(t.AbortGrace)); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
