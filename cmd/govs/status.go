package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/nsrun"
)

func init() {
	commands["status"] = command{
		summary: "show VRRP states, virtual services, real servers' health and recent events",
		run:     runStatus,
	}
}

// statusTimeout bounds the whole question to the daemon.
const statusTimeout = 15 * time.Second

// maxStatusBody bounds the snapshot read over HTTP.
const maxStatusBody = 64 << 20

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("govs status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "control socket of the daemon [$GOVS_SOCKET, else "+ctl.DefaultSocket+"]")
	base := fs.String("url", "", "ask the daemon's HTTP listener at `URL` (e.g. http://127.0.0.1:9100) instead of the socket")
	tokenFile := fs.String("token-file", "", "bearer token for --url, from `FILE` [$GOVS_HTTP_TOKEN]")
	asJSON := fs.Bool("json", false, "print the snapshot as JSON")
	color := fs.String("color", "auto", "colour the output: auto (when stdout is a terminal), always or never")
	events := fs.Int("events", 10, "how many recent events to show (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: govs status [--socket PATH | --url URL [--token-file FILE]] [--json]

Shows what the running daemon sees: which VIPs this node is MASTER for, every
virtual service with its real servers' health, weights, connections and rates,
each checker's last result, and the most recent events.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "govs status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	useColor, err := wantColor(*color, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "govs status:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	var raw []byte
	if *base != "" {
		raw, err = statusOverHTTP(ctx, *base, *tokenFile)
	} else {
		raw, err = ctl.CallStatus(ctx, ctl.SocketPath(*socket, nsrun.Current()))
	}
	if err != nil {
		fmt.Fprintln(stderr, "govs status:", err)
		return 1
	}
	if *asJSON {
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			fmt.Fprintln(stderr, "govs status: the daemon's answer is not JSON:", err)
			return 1
		}
		out.WriteByte('\n')
		stdout.Write(out.Bytes())
		return 0
	}
	var snap status.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		fmt.Fprintln(stderr, "govs status: reading the daemon's answer:", err)
		return 1
	}
	n := *events
	if n == 0 {
		n = -1
	}
	if err := status.Text(stdout, snap, status.TextOptions{Color: useColor, Events: n}); err != nil {
		fmt.Fprintln(stderr, "govs status:", err)
		return 1
	}
	return 0
}

// statusOverHTTP fetches /api/v1/status from the listener at base.
func statusOverHTTP(ctx context.Context, base, tokenFile string) ([]byte, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://HOST:PORT", base)
	}
	u = u.JoinPath("api/v1/status")
	token := os.Getenv("GOVS_HTTP_TOKEN")
	if tokenFile != "" {
		data, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token, _, _ = strings.Cut(string(data), "\n")
		token = strings.TrimSpace(token)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("govs daemon not reachable at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBody))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("%s: %s: %s", u, resp.Status, e.Error)
	}
	return body, nil
}

// wantColor decides on ANSI colours: "auto" colours a terminal unless $NO_COLOR is set.
func wantColor(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := w.(*os.File)
		if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
			return false, nil
		}
		fi, err := f.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, fmt.Errorf("--color %q: want auto, always or never", mode)
}
