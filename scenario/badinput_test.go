package scenario

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
)

// sessionRows is a sessions CSV of rows signed rows, made as it is read;
// it counts the rows it has handed out (a row counts once any byte of it
// has been read).
type sessionRows struct {
	rows, made int
	pending    string
}

func (s *sessionRows) Read(b []byte) (int, error) {
	if s.pending == "" {
		if s.made == s.rows {
			return 0, io.EOF
		}
		id := fmt.Sprintf("user-%07d", s.made)
		s.pending = "app," + id + "," + contract.Sign([]byte("k"), id) + "\n"
		s.made++
	}
	n := copy(b, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *sessionRows) Close() error { return nil }

// TestSessionsFileIsReadOnlyAsFarAsNeeded: a run of 10 users out of a
// million-row file reads a few rows past the tenth (the reader's buffer),
// not the file; without fleet.users it reads every row.
func TestSessionsFileIsReadOnlyAsFarAsNeeded(t *testing.T) {
	const yaml = "version: 1\nname: t\nduration: 1s\nidentity: { app_id: app, app_secret: k, sessions_file: big.csv }\n"
	for _, tt := range []struct {
		name      string
		fleet     string
		users     *int
		rows      int
		wantUsers int
		maxRead   int // rows read at most
	}{
		{"fleet.users", "fleet: { users: 10 }\n", nil, 1_000_000, 10, 10 + 4096/80 + 1},
		{"--users", "fleet: { users: 10 }\n", ptr(25), 1_000_000, 25, 25 + 4096/80 + 1},
		{"no fleet.users: every row", "", nil, 300, 300, 300},
	} {
		file := &sessionRows{rows: tt.rows}
		open := func(name string) (io.ReadCloser, error) {
			if name != "/s/big.csv" {
				t.Fatalf("opened %s", name)
			}
			return file, nil
		}
		s, err := Parse("/s/t.yaml", []byte(yaml+tt.fleet), Options{Open: open, Users: tt.users})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if s.Fleet.Users != tt.wantUsers || len(s.Identity.Sessions) != tt.wantUsers {
			t.Errorf("%s: %d users, %d sessions; want %d", tt.name, s.Fleet.Users, len(s.Identity.Sessions), tt.wantUsers)
		}
		if file.made > tt.maxRead {
			t.Errorf("%s: read %d rows of %d, want at most %d", tt.name, file.made, tt.rows, tt.maxRead)
		}
	}
}

// TestManyProblemsShowTheFirst50: a login list of 3,000 "me" is 2,999
// problems; the list holds the first 50 by position and one entry that
// counts the rest, and Count gives them all.
func TestManyProblemsShowTheFirst50(t *testing.T) {
	yaml := base + "behaviours:\n  login: [" + strings.Repeat("me,", 2999) + "me]\n"
	_, err := testParse(yaml, Options{})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse = %v, want an ErrorList", err)
	}
	if len(list) != maxProblems+1 || list.Count() != 2999 {
		t.Fatalf("%d entries for %d problems, want %d for 2999", len(list), list.Count(), maxProblems+1)
	}
	for i, e := range list[:maxProblems] {
		if want := index("behaviours.login", i+1); e.Path != want || e.Msg != "me is listed twice" {
			t.Fatalf("entry %d = %v, want %s: me is listed twice", i, e, want)
		}
	}
	if got := list[maxProblems].Error(); got != "and 2949 more problems" {
		t.Errorf("last line = %q, want \"and 2949 more problems\"", got)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != maxProblems+1 {
		t.Errorf("the error prints %d lines, want %d", lines, maxProblems+1)
	}
}

// TestErrorListStaysBoundedWhileCollecting adds problems last line first,
// the worst order for keeping the first ones, and checks that the list
// never holds more than compactAt of them and still ends with the first
// maxProblems by position.
func TestErrorListStaysBoundedWhileCollecting(t *testing.T) {
	var l ErrorList
	const n = 100_000
	for line := n; line >= 1; line-- {
		l.add(&Error{File: "f.yaml", Line: line, Msg: "bad"})
		if len(l) > compactAt {
			t.Fatalf("after %d problems the list holds %d", n-line+1, len(l))
		}
	}
	l.add(&Error{File: "f.yaml", Msg: "unlocated"}) // sorts after every located one
	got := l.sorted()
	if len(got) != maxProblems+1 || got.Count() != n+1 {
		t.Fatalf("%d entries for %d problems, want %d for %d", len(got), got.Count(), maxProblems+1, n+1)
	}
	for i, e := range got[:maxProblems] {
		if e.Line != i+1 {
			t.Fatalf("entry %d is line %d, want %d", i, e.Line, i+1)
		}
	}
	if last := got[maxProblems]; last.Omitted != n+1-maxProblems || last.Error() != fmt.Sprintf("and %d more problems", n+1-maxProblems) {
		t.Errorf("last entry = %q (omitted %d)", last.Error(), last.Omitted)
	}
}

// TestSessionsProblemsAreCounted: a sessions file's problems past the
// first 20 are counted in one entry of that file.
func TestSessionsProblemsAreCounted(t *testing.T) {
	csv := strings.Repeat("app,u,abc\n", 500) // 500 rows with a short hash
	open := func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv)), nil }
	_, err := Parse("/s/t.yaml", []byte("version: 1\nname: t\nduration: 1s\nidentity: { app_id: app, app_secret: k, sessions_file: bad.csv }\n"), Options{Open: open})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse = %v", err)
	}
	if len(list) != maxCSVProblems+1 || list.Count() != 500 {
		t.Fatalf("%d entries for %d problems, want %d for 500:\n%v", len(list), list.Count(), maxCSVProblems+1, err)
	}
	if got := list[maxCSVProblems].Error(); got != "/s/bad.csv: identity.sessions_file: and 480 more problems in this file" {
		t.Errorf("last line = %q", got)
	}
}
