package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// MarshalJSON implements json.Marshaler; the hash shows as "[redacted]".
func (s Session) MarshalJSON() ([]byte, error) {
	return marshal(struct {
		AppID          string `json:"app_id"`
		ExternalUserID string `json:"external_user_id"`
		UserHash       Secret `json:"user_hash"`
	}{s.AppID, s.ExternalUserID, s.UserHash})
}

// Hash returns a stable SHA-256 (lowercase hex) of the load the resolved
// scenario describes: its JSON echo (secrets redacted) with only the name,
// identity, fleet, stages, behaviours, capacity block and a seed that was
// given. Where the load goes and what judges it do not count: the target,
// the thresholds, output.dir (--out), the description, a shard's slice and
// the file's path. So runs of the same load have the same hash wherever
// the file lives, however it spells its values (defaults written out or
// left out, users as a percentage or a number), against whichever target
// and into whichever directory, and without a seed two identical
// invocations hash the same; any change to what the users do (an
// override, a different environment value, a seed) changes it
// (docs/results.md).
func (s *Scenario) Hash() string {
	c := *s
	c.File, c.Description, c.Shard = "", "", nil
	c.Target, c.Thresholds, c.Output = Target{}, Thresholds{}, Output{}
	data, err := json.Marshal(c)
	if err != nil {
		data = []byte(err.Error()) // cannot happen for a loaded scenario; still a stable value
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
