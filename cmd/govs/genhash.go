package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/govs/govs/internal/check"
)

func init() {
	commands["genhash"] = command{summary: "the digest of a URL for HTTP_GET/SSL_GET, as keepalived's genhash", run: runGenhash}
}

// runGenhash is keepalived's genhash (keepalived -T): fetch a URL as the HTTP_GET or
// SSL_GET checker does and print the MD5 digest of its body for a url block's digest,
// with keepalived's options and output.
func runGenhash(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("govs genhash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		server, url, vhost, proto string
		port, timeout             int
		fwmark                    uint
		useTLS, sni, verbose      bool
	)
	for _, n := range []string{"s", "server"} {
		fs.StringVar(&server, n, "", "")
	}
	for _, n := range []string{"p", "port"} {
		fs.IntVar(&port, n, 0, "")
	}
	for _, n := range []string{"u", "url"} {
		fs.StringVar(&url, n, "", "")
	}
	for _, n := range []string{"V", "use-virtualhost"} {
		fs.StringVar(&vhost, n, "", "")
	}
	for _, n := range []string{"P", "protocol"} {
		fs.StringVar(&proto, n, "1.0", "")
	}
	for _, n := range []string{"t", "timeout"} {
		fs.IntVar(&timeout, n, 0, "")
	}
	for _, n := range []string{"m", "fwmark"} {
		fs.UintVar(&fwmark, n, 0, "")
	}
	for _, n := range []string{"S", "use-ssl"} {
		fs.BoolVar(&useTLS, n, false, "")
	}
	for _, n := range []string{"I", "use-sni"} {
		fs.BoolVar(&sni, n, false, "")
	}
	for _, n := range []string{"v", "verbose"} {
		fs.BoolVar(&verbose, n, false, "")
	}
	help := false
	for _, n := range []string{"h", "help"} {
		fs.BoolVar(&help, n, false, "")
	}
	usage := func(msg string) int {
		if msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		fmt.Fprint(stderr, genhashUsage)
		if help && msg == "" {
			return 0
		}
		return 1
	}
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	if help {
		return usage("")
	}
	if fs.NArg() > 0 {
		return usage("Unexpected argument(s): " + strings.Join(fs.Args(), " "))
	}
	addr, err := netip.ParseAddr(server)
	switch {
	case server == "" || port == 0 || url == "":
		return usage("")
	case err != nil:
		return usage("server should be an IP, not " + server)
	case port < 0 || port > 65535:
		return usage(fmt.Sprintf("invalid port number '%d'", port))
	case timeout < 0:
		return usage(fmt.Sprintf("invalid timeout '%d'", timeout))
	case fwmark > math.MaxUint32:
		return usage(fmt.Sprintf("invalid fwmark '%d'", fwmark))
	}
	opts := check.HTTPOptions{VirtualHost: vhost, EnableSNI: sni}
	switch proto {
	case "1.0", "1.1":
		opts.Protocol = proto
	case "1.0c", "1.0C":
		opts.Protocol = "1.0C"
	default:
		return usage(fmt.Sprintf("invalid HTTP protocol version '%s'", proto))
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
		defer cancel()
	}
	t := check.Target{Addr: netip.AddrPortFrom(addr, uint16(port)), FWMark: uint32(fwmark)}
	start := time.Now()
	header, body, err := check.Fetch(ctx, t, opts, useTLS, url)
	if verbose && len(header) > 0 {
		fmt.Fprint(stdout, genhashDelim("    HTTP Header Buffer    "))
		hexDump(stdout, header)
		fmt.Fprint(stdout, genhashDelim(" HTTP Header Ascii Buffer "))
		fmt.Fprintf(stdout, "%s\n", header)
		if len(body) > 0 {
			fmt.Fprint(stdout, genhashDelim("        HTML Buffer        "))
			hexDump(stdout, body)
		}
	}
	switch {
	case err != nil:
		fmt.Fprintln(stdout, genhashFailure(err))
		return 1
	case len(header) == 0:
		fmt.Fprintln(stderr, "no data received from remote webserver")
		return 1
	}
	sum := md5.Sum(body)
	if verbose {
		fmt.Fprint(stdout, "\n"+genhashDelim("    HTML hash resulting    "))
		hexDump(stdout, sum[:])
		fmt.Fprint(stdout, genhashDelim(" HTML hash final resulting "))
	}
	fmt.Fprintln(stdout, hex.EncodeToString(sum[:]))
	if verbose {
		fmt.Fprintf(stdout, "\nGlobal response time for [%s] = %d usecs\n", url, time.Since(start).Microseconds())
	}
	return 0
}

// genhashFailure says what failed in keepalived's words.
func genhashFailure(err error) string {
	var netErr net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "TLS:"):
		return "SSL handshake/communication error connecting to server"
	case strings.HasPrefix(msg, "reading") && timedOut:
		return "Timeout HTTP read"
	case strings.HasPrefix(msg, "reading"):
		return "Read error with server"
	case strings.HasPrefix(msg, "sending"):
		return "Cannot send get request to server"
	case timedOut:
		return "Timeout connecting"
	}
	return "Connection failed"
}

const genhashUsage = `Usage: govs genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
`

// genhashDelim is keepalived's section line around a title.
func genhashDelim(title string) string {
	return "-----------------------[" + title + "]-----------------------\n"
}

// hexDump writes b as keepalived's dump_buffer: offset, sixteen bytes in hex with a
// dash after the eighth, then those of them that print.
func hexDump(w io.Writer, b []byte) {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&sb, "%.4d ", i&0xffff)
		for j := i; j < i+16; j++ {
			if j < len(b) {
				fmt.Fprintf(&sb, "%3.2x", b[j])
			} else {
				sb.WriteString("   ")
			}
			if (j+1)%16 == 8 {
				sb.WriteString(" -")
			}
		}
		sb.WriteString("   ")
		for j := i; j < i+16; j++ {
			switch {
			case j >= len(b):
				sb.WriteByte(' ')
			case b[j] >= 0x20 && b[j] <= 0x7e:
				sb.WriteByte(b[j])
			default:
				sb.WriteByte('.')
			}
		}
		sb.WriteString("\n")
	}
	_, _ = io.WriteString(w, sb.String())
}
