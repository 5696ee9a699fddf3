package scenario

import "gopkg.in/yaml.v3"

// identityKeys are the keys of the identity block. sessions_file is kept
// as written here; resolveIdentity makes it absolute and loads it.
var identityKeys = keys[Identity]{
	{name: "app_id", shape: shapeString, doc: "the app id of every user",
		decode: readStr(func(id *Identity, s string) { id.AppID = s }),
		echo:   func(id *Identity) (any, bool) { return id.AppID, id.AppID != "" }},
	{name: "app_secret", shape: shapeString, doc: "signs user ids; use ${NAME} to read it from the environment",
		decode: func(d *decoder, n *yaml.Node, p string, id *Identity) bool {
			if s := d.str(n, p); s != nil {
				id.AppSecret = Secret(*s)
				return true
			}
			return false
		},
		echo: func(id *Identity) (any, bool) { return id.AppSecret, id.AppSecret != "" }},
	{name: "user_id", shape: "template", doc: "text/template of the n-th user's id, with .N from 0 (default eixamsim-{{.N}} without sessions_file)",
		decode: readStr(func(id *Identity, s string) { id.UserID = s }),
		def: func(id *Identity) {
			if id.SessionsFile == "" {
				id.UserID = DefaultUserID
			}
		},
		echo: func(id *Identity) (any, bool) { return id.UserID, id.UserID != "" }},
	{name: "sessions_file", shape: shapeString, doc: "CSV of pre-signed sessions appId,externalUserId,userHash, relative to the scenario",
		decode: readStr(func(id *Identity, s string) { id.SessionsFile = s }),
		echo:   func(id *Identity) (any, bool) { return id.SessionsFile, id.SessionsFile != "" }},
}

// MarshalJSON implements json.Marshaler. The secret shows as
// "[redacted]"; the sessions are left out.
func (id Identity) MarshalJSON() ([]byte, error) { return identityKeys.marshal(&id) }

// resolveIdentity makes the sessions file absolute and parses the user id
// template; written is the sessions file as the scenario gives it.
func (p *parser) resolveIdentity(id Identity) (resolved Identity, written string) {
	written = id.SessionsFile
	id.SessionsFile = p.resolvePath(id.SessionsFile)
	if id.UserID != "" {
		id.tmpl, _ = parseUserID(id.UserID) // a bad template is reported by validate
	}
	return id, written
}

// outputKeys are the keys of the output block.
var outputKeys = keys[Output]{
	{name: "dir", shape: "template", doc: "result directory, a text/template with .Name and .Start (default " + DefaultOutputDir + ")",
		decode: readStr(func(o *Output, s string) { o.Dir = s }),
		def:    func(o *Output) { o.Dir = DefaultOutputDir },
		echo:   always(func(o *Output) any { return o.Dir })},
}

// MarshalJSON implements json.Marshaler.
func (o Output) MarshalJSON() ([]byte, error) { return outputKeys.marshal(&o) }
