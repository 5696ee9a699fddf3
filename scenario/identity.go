package scenario

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/eixamsim/eixamsim/contract"
)

// Session returns the signed session of this run's user n (0-based),
// which is user Offset+n of the whole run: row Offset+n of the sessions
// CSV, or the UserID template rendered with .N = Offset+n and signed with
// AppSecret (contract.Sign). Its Index is Offset+n. It is safe for
// concurrent use.
func (id *Identity) Session(n int) (Session, error) {
	if n < 0 {
		return Session{}, fmt.Errorf("scenario: user index %d is negative", n)
	}
	n += id.Offset
	if id.SessionsFile != "" || id.Sessions != nil {
		if n >= len(id.Sessions) {
			return Session{}, fmt.Errorf("scenario: user %d has no session: the sessions file has %d rows", n, len(id.Sessions))
		}
		s := id.Sessions[n]
		s.Index = n
		return s, nil
	}
	if id.AppSecret == "" {
		return Session{}, errors.New("scenario: identity.app_secret is empty, cannot sign user ids")
	}
	ext, err := id.externalUserID(n)
	if err != nil {
		return Session{}, err
	}
	return Session{
		Index:          n,
		AppID:          id.AppID,
		ExternalUserID: ext,
		UserHash:       Secret(contract.Sign([]byte(id.AppSecret.Reveal()), ext)),
	}, nil
}

// ExternalUserID returns the external user id of this run's user n (user
// Offset+n of the whole run) without signing it.
func (id *Identity) ExternalUserID(n int) (string, error) {
	if id.SessionsFile != "" || id.Sessions != nil {
		s, err := id.Session(n)
		return s.ExternalUserID, err
	}
	if n < 0 {
		return "", fmt.Errorf("scenario: user index %d is negative", n)
	}
	return id.externalUserID(n + id.Offset)
}

// externalUserID renders the template for user n of the whole run.
func (id *Identity) externalUserID(n int) (string, error) {
	t := id.tmpl
	if t == nil {
		var err error
		if t, err = parseUserID(id.UserID); err != nil {
			return "", err
		}
	}
	return t.render(n)
}

// userIDTemplate is a parsed identity.user_id.
type userIDTemplate struct{ t *template.Template }

// maxUserIDLen bounds a rendered user id.
const maxUserIDLen = 1024

// parseUserID parses a user id template. Only plain text, {{...}} actions
// (such as {{.N}} or {{printf "%06d" .N}}) and if/else are allowed: no
// loops and no sub-templates, so rendering is always quick.
func parseUserID(s string) (*userIDTemplate, error) {
	t, err := template.New("user_id").Option("missingkey=error").Parse(s)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "template: ")
		return nil, fmt.Errorf("invalid template: %s", msg)
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("invalid template: define and block are not supported")
	}
	if t.Tree == nil || t.Root == nil {
		return nil, errors.New("invalid template: empty")
	}
	if err := checkTemplateNodes(t.Root); err != nil {
		return nil, err
	}
	return &userIDTemplate{t}, nil
}

func checkTemplateNodes(list *parse.ListNode) error {
	if list == nil {
		return nil
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode, *parse.ActionNode, *parse.CommentNode:
		case *parse.IfNode:
			if err := checkTemplateNodes(n.List); err != nil {
				return err
			}
			if err := checkTemplateNodes(n.ElseList); err != nil {
				return err
			}
		default:
			return fmt.Errorf("invalid template: %q is not supported (use {{.N}}, functions such as printf, and if)", n.String())
		}
	}
	return nil
}

// render executes the template with .N = n.
func (u *userIDTemplate) render(n int) (string, error) {
	var b limitedBuilder
	if err := u.t.Execute(&b, struct{ N int }{n}); err != nil {
		return "", fmt.Errorf("cannot render user %d: %s", n, templateExecError(err, "{{.N}}"))
	}
	return b.String(), nil
}

var unknownFieldRE = regexp.MustCompile(`can't evaluate field (\w+)`)

// templateExecError shortens a text/template execution error.
func templateExecError(err error, fields string) string {
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Sprintf("unknown field .%s (use %s)", m[1], fields)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// limitedBuilder is a strings.Builder that refuses to grow past maxUserIDLen.
type limitedBuilder struct{ strings.Builder }

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxUserIDLen {
		return 0, fmt.Errorf("user id longer than %d bytes", maxUserIDLen)
	}
	return b.Builder.Write(p)
}

// Sessions CSV: appId,externalUserId,userHash per row, optional header.

// maxCSVProblems bounds the problems reported for one sessions file.
const maxCSVProblems = 20

var csvHeaders = [][]string{
	{"appid", "externaluserid", "userhash"},
	{"app_id", "external_user_id", "user_hash"},
}

func isCSVHeader(rec []string) bool {
	if len(rec) != 3 {
		return false
	}
	for _, h := range csvHeaders {
		if strings.EqualFold(strings.TrimSpace(rec[0]), h[0]) &&
			strings.EqualFold(strings.TrimSpace(rec[1]), h[1]) &&
			strings.EqualFold(strings.TrimSpace(rec[2]), h[2]) {
			return true
		}
	}
	return false
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// loadSessions reads identity.sessions_file: its first need rows, or
// every row when need is 0, so that a million-row file for a run of ten
// users costs ten rows. Problems with the file's content are reported at
// their line in the CSV; the file not being readable at the sessions_file
// key. Hashes are never echoed.
func (p *parser) loadSessions(written string, id *Identity, need int) []Session {
	const key = "identity.sessions_file"
	name := p.displayPath(written)
	cantRead := func(err error) {
		cause := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			cause = pe.Err
		}
		p.errorf(key, "cannot read %s: %v", name, cause).Err = err
	}
	f, err := p.opts.Open(id.SessionsFile)
	if err != nil {
		cantRead(err)
		return nil
	}
	defer f.Close()
	limited := &io.LimitedReader{R: f, N: maxReferencedFile + 1}
	in := bufio.NewReader(limited)
	if bom, _ := in.Peek(3); string(bom) == "\xef\xbb\xbf" {
		in.Discard(3) // a spreadsheet's BOM
	}

	problems := 0
	report := func(line, col int, format string, args ...any) {
		problems++
		if problems <= maxCSVProblems {
			p.errs.add(&Error{File: name, Line: line, Column: col, Path: key, Msg: fmt.Sprintf(format, args...)})
		}
		p.src.bad[key] = true
	}
	secret := []byte(id.AppSecret.Reveal())
	firstRow := map[string]int{} // appId + NUL + externalUserId -> row
	clientIDs := map[string]int{}
	sessions := []Session{}
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	first := true
	for row := 0; need == 0 || row < need; {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				report(pe.Line, pe.Column, "malformed CSV: %v", pe.Err)
			} else {
				report(0, 0, "malformed CSV: %v", err)
			}
			break
		}
		if first {
			first = false
			if isCSVHeader(rec) {
				continue
			}
		}
		row++
		line, _ := r.FieldPos(0)
		if len(rec) != 3 {
			report(line, 1, "row %d: %d columns, want 3 (appId,externalUserId,userHash)", row, len(rec))
			continue
		}
		ok := true
		for i, col := range []string{"appId", "externalUserId", "userHash"} {
			if strings.TrimSpace(rec[i]) == "" {
				l, c := r.FieldPos(i)
				report(l, c, "row %d: empty %s", row, col)
				ok = false
			}
		}
		if !ok {
			continue
		}
		appID, ext, hash := rec[0], rec[1], rec[2]
		if !isHash(hash) {
			l, c := r.FieldPos(2)
			report(l, c, "row %d: userHash must be 64 lowercase hex characters (hex HMAC-SHA256)", row)
			continue
		}
		if id.AppID != "" && appID != id.AppID {
			l, c := r.FieldPos(0)
			report(l, c, "row %d: appId %q differs from identity.app_id %q", row, appID, id.AppID)
			continue
		}
		if len(secret) > 0 && !contract.Verify(secret, ext, hash) {
			l, c := r.FieldPos(2)
			report(l, c, "row %d: userHash is not the HMAC of externalUserId with identity.app_secret", row)
			continue
		}
		k := appID + "\x00" + ext
		if first, dup := firstRow[k]; dup {
			report(line, 1, "row %d: same appId and externalUserId as row %d", row, first)
			continue
		}
		firstRow[k] = row
		cid := contract.ClientID(appID, ext)
		if first, dup := clientIDs[cid]; dup {
			report(line, 1, "row %d: same MQTT client id as row %d (characters outside [A-Za-z0-9_-] become _ and ids are cut at 64, contract §3.1)", row, first)
			continue
		}
		clientIDs[cid] = row
		sessions = append(sessions, Session{AppID: appID, ExternalUserID: ext, UserHash: Secret(hash)})
	}
	if limited.N == 0 {
		cantRead(fmt.Errorf("larger than %d bytes", maxReferencedFile))
		return nil
	}
	if problems > maxCSVProblems {
		left := problems - maxCSVProblems
		p.errs.add(&Error{File: name, Path: key, Omitted: left, Msg: fmt.Sprintf("and %d more problems in this file", left)})
	}
	if problems == 0 && len(sessions) == 0 {
		p.errorf(key, "%s has no sessions (want rows of appId,externalUserId,userHash)", name)
	}
	if problems > 0 {
		return nil
	}
	return sessions
}
