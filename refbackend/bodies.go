package refbackend

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an HTTP error answer.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) write(w http.ResponseWriter) { writeError(w, e.status, e.msg) }

// readBody reads the request body, at most max bytes: 413 if larger
// (declared or streamed).
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *apiError) {
	tooLarge := &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", max)}
	if r.ContentLength > max {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return nil, tooLarge
		}
		return nil, &apiError{http.StatusBadRequest, "reading the request body failed: " + err.Error()}
	}
	return body, nil
}

// parseObject parses body as one JSON object: 400 if it is not JSON or not
// an object.
func parseObject(body []byte) (*fields, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		if errors.As(err, new(*json.UnmarshalTypeError)) {
			return nil, &apiError{http.StatusBadRequest, "request body must be a JSON object"}
		}
		return nil, &apiError{http.StatusBadRequest, "malformed JSON: " + err.Error()}
	}
	if m == nil {
		return nil, &apiError{http.StatusBadRequest, "request body must be a JSON object"}
	}
	return &fields{m: m}, nil
}

// fields reads typed values out of a JSON object and collects every
// problem, so one 400 names them all.
type fields struct {
	m        map[string]json.RawMessage
	problems []string
}

func (f *fields) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// present reports whether key is there and not null.
func (f *fields) present(key string) bool {
	raw, ok := f.m[key]
	return ok && string(raw) != "null"
}

// str reads a required string (null is not a string).
func (f *fields) str(key string) string {
	raw, ok := f.m[key]
	if !ok {
		f.problem("%s is required", key)
		return ""
	}
	return f.decodeStr(key, raw)
}

// optStr reads a string that may be absent or null ("" then).
func (f *fields) optStr(key string) string {
	if !f.present(key) {
		return ""
	}
	return f.decodeStr(key, f.m[key])
}

func (f *fields) decodeStr(key string, raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		f.problem("%s must be a string", key)
		return ""
	}
	return s
}

// integer reads a required JSON integer (no fraction, no exponent).
func (f *fields) integer(key string) int {
	raw, ok := f.m[key]
	if !ok {
		f.problem("%s is required", key)
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < math.MinInt || n > math.MaxInt {
		f.problem("%s must be an integer", key)
		return 0
	}
	return int(n)
}

// number reads a required finite JSON number.
func (f *fields) number(key string) float64 {
	if !f.present(key) {
		f.problem("%s is required (a number)", key)
		return 0
	}
	v := f.optNumber(key)
	if v == nil {
		return 0
	}
	return *v
}

// optNumber reads a number that may be absent or null (nil then).
func (f *fields) optNumber(key string) *float64 {
	if !f.present(key) {
		return nil
	}
	var v float64
	if err := json.Unmarshal(f.m[key], &v); err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		f.problem("%s must be a number", key)
		return nil
	}
	return &v
}

// err returns the 400 naming every problem, nil if there was none.
func (f *fields) err() *apiError {
	if len(f.problems) == 0 {
		return nil
	}
	return &apiError{http.StatusBadRequest, "invalid body: " + strings.Join(f.problems, "; ")}
}
