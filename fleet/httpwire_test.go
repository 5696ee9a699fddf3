package fleet

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// TestSDKRequestBytes sends the SDK's GET /v1/sdk/me, GET /v1/sdk/sos and
// POST /v1/sdk/contacts through sdkHTTP.call to a raw loopback listener
// and compares every byte that arrived with what the SDK's calls are on
// the wire (contract §2.1): header names as net/http writes them, in its
// order, Accept on /me only, the charset on a request with a body.
func TestSDKRequestBytes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 3)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for range 3 {
			raw, err := readRawRequest(br)
			if err != nil {
				t.Error(err)
				return
			}
			got <- raw
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
				return
			}
		}
	}()
	base := "http://" + l.Addr().String()
	h := newSDKHTTP([]string{base}, nil, 5*time.Second, 1, nil, nil)
	defer h.close()
	s := scenario.Session{AppID: "demo-app", ExternalUserID: "user-1", UserHash: "0123abcd"}
	host := l.Addr().String()
	common := "User-Agent: Go-http-client/1.1\r\n"
	cases := []struct {
		method, path string
		body         any
		want         string
	}{
		{"GET", contract.PathMe, nil, "GET /v1/sdk/me HTTP/1.1\r\nHost: " + host + "\r\n" + common +
			"Accept: application/json\r\nAuthorization: Bearer 0123abcd\r\nContent-Type: application/json\r\nX-App-Id: demo-app\r\nX-User-Id: user-1\r\nAccept-Encoding: gzip\r\n\r\n"},
		{"GET", contract.PathSOS, nil, "GET /v1/sdk/sos HTTP/1.1\r\nHost: " + host + "\r\n" + common +
			"Authorization: Bearer 0123abcd\r\nContent-Type: application/json\r\nX-App-Id: demo-app\r\nX-User-Id: user-1\r\nAccept-Encoding: gzip\r\n\r\n"},
		{"POST", contract.PathContacts, map[string]string{"name": "A"}, "POST /v1/sdk/contacts HTTP/1.1\r\nHost: " + host + "\r\n" + common +
			"Content-Length: 12\r\nAuthorization: Bearer 0123abcd\r\nContent-Type: application/json; charset=utf-8\r\nX-App-Id: demo-app\r\nX-User-Id: user-1\r\nAccept-Encoding: gzip\r\n\r\n{\"name\":\"A\"}"},
	}
	for _, c := range cases {
		var out map[string]any
		if class, err := h.call(context.Background(), s, c.method, c.path, c.body, is2xx, &out); err != nil {
			t.Fatalf("%s %s: %s %v", c.method, c.path, class, err)
		}
		if raw := <-got; raw != c.want {
			t.Errorf("%s %s sent\n%q\nwant\n%q", c.method, c.path, raw, c.want)
		}
	}
}

// readRawRequest reads one HTTP/1.1 request as it arrived: its head to the
// blank line and, by its Content-Length, its body.
func readRawRequest(br *bufio.Reader) (string, error) {
	var b strings.Builder
	n := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok && textproto.CanonicalMIMEHeaderKey(k) == "Content-Length" {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return b.String(), err
	}
	b.Write(body)
	return b.String(), nil
}
