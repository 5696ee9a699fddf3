package contract

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// Sign returns the userHash of externalUserID for an app with the given
// secret: lowercase hex HMAC-SHA256(secret, externalUserID) (contract §1.1).
// The app id is not part of the message; it only selects the secret.
func Sign(secret []byte, externalUserID string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(externalUserID))
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether userHash is the signature of externalUserID under
// secret. The comparison takes constant time, so a caller cannot learn a
// prefix of the right hash from response timing.
func Verify(secret []byte, externalUserID, userHash string) bool {
	want := Sign(secret, externalUserID)
	return hmac.Equal([]byte(want), []byte(userHash))
}

// Username is the MQTT username of a user: "sdk:<appId>:<externalUserId>",
// raw values, no trimming (contract §3.1).
func Username(appID, externalUserID string) string {
	return "sdk:" + appID + ":" + externalUserID
}

// ParseUsername splits an MQTT username into app id and external user id.
// The app id ends at the second colon; the rest, colons included, is the
// user id, because the SDK does not forbid ':' in user ids (contract §1.3).
func ParseUsername(username string) (appID, externalUserID string, ok bool) {
	rest, found := strings.CutPrefix(username, "sdk:")
	if !found {
		return "", "", false
	}
	appID, externalUserID, found = strings.Cut(rest, ":")
	if !found || appID == "" || externalUserID == "" {
		return "", "", false
	}
	return appID, externalUserID, true
}

// ClientID is the MQTT client id the SDK uses: "eixam_" + S(appId) + "_" +
// S(externalUserId), where S folds every character outside [A-Za-z0-9_-]
// to '_', cut to 64 characters (contract §3.1). It uses the raw external id.
func ClientID(appID, externalUserID string) string {
	var b strings.Builder
	b.Grow(7 + len(appID) + len(externalUserID))
	b.WriteString("eixam_")
	foldClientIDChars(&b, appID)
	b.WriteByte('_')
	foldClientIDChars(&b, externalUserID)
	id := b.String()
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

func foldClientIDChars(b *strings.Builder, s string) {
	for _, r := range s {
		if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
}

// Trim removes leading and trailing whitespace as Dart's String.trim does,
// which is how the SDK reads user.id and user.external_user_id of GET
// /v1/sdk/me (contract §1.4, §2.3): the Unicode White_Space characters
// (Go's unicode.IsSpace) and the byte order mark U+FEFF, which
// strings.TrimSpace keeps. The canonical id the SDK builds its topics from
// is Trim of what the backend returned.
func Trim(s string) string {
	return strings.TrimFunc(s, isDartSpace)
}

func isDartSpace(r rune) bool { return r == '\uFEFF' || unicode.IsSpace(r) }
