package check

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestHTTPDigestOfChunkedBody: keepalived does not decode a chunked body, so the digest
// its genhash prints, and its HTTP_GET checks, cover the chunk framing too; so do
// govs's, or a digest computed with genhash would never match. The same for Fetch.
func TestHTTPDigestOfChunkedBody(t *testing.T) {
	const framed = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	addr := testutil.ServeTCP(t, func(c net.Conn) {
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + framed))
		}
	})
	for _, tc := range []struct {
		digest, wantErr string
	}{
		{md5hex(framed), ""},
		{md5hex("hello world"), "digest " + md5hex(framed)},
	} {
		res := checkOnce(t, Spec{Type: "HTTP_GET", Options: &HTTPOptions{Protocol: "1.1", URLs: []URL{{Path: "/", Digest: tc.digest}}}}, addr)
		if tc.wantErr == "" && res.Err != nil || tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.wantErr)) {
			t.Errorf("digest %s: %v, want error %q", tc.digest, res.Err, tc.wantErr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	header, body, err := Fetch(ctx, Target{Addr: addr}, HTTPOptions{Protocol: "1.1"}, false, "/")
	if err != nil || string(body) != framed || !strings.HasPrefix(string(header), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(header), "\r\n\r\n") {
		t.Errorf("Fetch: %q %q %v", header, body, err)
	}
}
