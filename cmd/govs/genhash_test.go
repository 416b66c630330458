package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/govs/govs/internal/testutil"
)

// TestGenhashAsKeepalived: govs genhash prints what keepalived 2.2.7's genhash prints
// for the same server (digest, verbose dumps, failures), a chunked body included; so
// does govs run -T, as keepalived -T.
func TestGenhashAsKeepalived(t *testing.T) {
	testutil.Integration(t)
	genhash := testutil.NeedCommand(t, "genhash")
	// Fixed responses: the same bytes for both tools (no Date header).
	responses := map[string]string{
		"/page":    "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 23\r\n\r\n<html>hello govs</html>",
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"/long":    "HTTP/1.0 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!and more than the length",
	}
	server := testutil.ServeTCP(t, func(c net.Conn) {
		line, err := bufio.NewReader(c).ReadString('\n')
		if fields := strings.Fields(line); err == nil && len(fields) > 1 {
			fmt.Fprint(c, responses[fields[1]])
		}
	})
	port := fmt.Sprint(server.Port())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := fmt.Sprint(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	elapsed := regexp.MustCompile(`= [0-9]+ usecs`)
	for _, args := range [][]string{
		{"-s", "127.0.0.1", "-p", port, "-u", "/page"},
		{"-s", "127.0.0.1", "-p", port, "-u", "/page", "-v"},
		{"--server", "127.0.0.1", "--port", port, "--url", "/chunked", "--protocol", "1.1", "-v"},
		{"-s", "127.0.0.1", "-p", port, "-u", "/long", "-V", "www.example", "-P", "1.0c"},
		{"-s", "127.0.0.1", "-p", closedPort, "-u", "/page"},
	} {
		want, _ := exec.Command(genhash, args...).CombinedOutput()
		sub := []string{"genhash"}
		if len(args) == 6 {
			sub = []string{"run", "-T"} // keepalived -T
		}
		cmd := exec.Command(testutil.GovsBinary(t), append(sub, args...)...)
		got, _ := cmd.CombinedOutput()
		if g, w := elapsed.ReplaceAllString(string(got), "= N usecs"), elapsed.ReplaceAllString(string(want), "= N usecs"); g != w {
			t.Errorf("genhash %v:\ngovs:\n%s\nkeepalived:\n%s", args, g, w)
		}
	}
}
