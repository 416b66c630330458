package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTPOptions are HTTP_GET's and SSL_GET's keywords.
type HTTPOptions struct {
	// URLs are the url blocks; each is checked on its own tick. At least one is needed.
	URLs []URL
	// Protocol is http_protocol: "1.0" [default], "1.0C" (1.0 with Connection: close)
	// or "1.1".
	Protocol string
	// VirtualHost is the Host header for URLs without their own (checker's, else the
	// real server's, else the virtual server's virtualhost); empty: the target address.
	VirtualHost string
	// FastRecovery checks the remaining URLs back to back when recovering.
	FastRecovery bool

	// TLS, used by SSL_GET only.
	EnableSNI bool   // enable_sni: send the virtual host (or SNIName) as SNI
	SNIName   string // sni_name: the SNI to send; implies EnableSNI
	// VerifyCert checks the server's certificate chain and name (govs; keepalived does
	// not verify). With CAFile, against that CA; otherwise against the system roots.
	VerifyCert bool
	// CAFile, CertFile and KeyFile are the global SSL block's ca, certificate and key.
	CAFile, CertFile, KeyFile string
}

// URL is one url block.
type URL struct {
	Path string // path, required
	// Digest is the hex MD5 of the body (keepalived --genhash); empty: not checked.
	Digest string
	// StatusCodes are status_code values; empty means 200-299.
	StatusCodes []StatusRange
	VirtualHost string // virtualhost of this URL, over HTTPOptions.VirtualHost
	// Regex must match the body (or, with RegexNoMatch, must not), as keepalived's
	// PCRE2 regex with RegexOptions: the leftmost match from byte RegexMinOffset
	// counts if it starts before byte RegexMaxOffset (0: anywhere; keepalived's
	// regex_max_offset N is N+1 here, as keepalived keeps it).
	Regex          string
	RegexOptions   []string
	RegexNoMatch   bool
	RegexMinOffset int
	RegexMaxOffset int
}

// StatusRange is a status_code value: one code (Lo == Hi) or a range.
type StatusRange struct{ Lo, Hi int }

// MaxBody bounds how much of a response body a check reads for digest and regex.
const MaxBody = 16 << 20

// readerPool recycles response readers: a thousand checks a second would otherwise
// allocate a thousand 4 KiB buffers a second.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// UserAgent is what keepalived's HTTP checker sends.
const UserAgent = "KeepAliveClient"

// ParseStatusCodes parses status_code's values: "200", "300-399", each 100-599.
func ParseStatusCodes(values []string) ([]StatusRange, error) {
	var out []StatusRange
	for i, v := range values {
		lo, hi, isRange := strings.Cut(v, "-")
		a, err := parseStatus(lo)
		if err != nil {
			return nil, fmt.Errorf("status_code value %d %q: %w", i+1, v, err)
		}
		b := a
		if isRange {
			if b, err = parseStatus(hi); err != nil {
				return nil, fmt.Errorf("status_code value %d %q: %w", i+1, v, err)
			}
			if b < a {
				return nil, fmt.Errorf("status_code value %d %q: range end below its start", i+1, v)
			}
		}
		out = append(out, StatusRange{a, b})
	}
	return out, nil
}

func parseStatus(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status 100-599", s)
	}
	return n, nil
}

type httpChecker struct {
	opts    HTTPOptions
	tls     *tls.Config // nil for HTTP_GET
	regexes []*bodyRegex
}

func init() {
	// keepalived waits 3 s before an HTTP or SSL retry.
	retryIn3s := func(t *Timers) { t.DelayBeforeRetry = 3 * time.Second }
	Register("HTTP_GET", Kind{New: newHTTP, Defaults: retryIn3s})
	Register("SSL_GET", Kind{New: newSSL, Defaults: retryIn3s})
}

func newHTTP(spec Spec, _ Env) (Checker, error) { return buildHTTP(spec, false) }
func newSSL(spec Spec, _ Env) (Checker, error)  { return buildHTTP(spec, true) }

func buildHTTP(spec Spec, useTLS bool) (Checker, error) {
	o, ok := spec.Options.(*HTTPOptions)
	if !ok || o == nil {
		return nil, fmt.Errorf("%s: no url block", spec.Type)
	}
	c := &httpChecker{opts: *o, regexes: make([]*bodyRegex, len(o.URLs))}
	if len(o.URLs) == 0 {
		return nil, fmt.Errorf("%s: no url block (keepalived drops such a checker)", spec.Type)
	}
	switch o.Protocol {
	case "", "1.0", "1.0C", "1.1":
	default:
		return nil, fmt.Errorf("%s: http_protocol %q: want 1.0, 1.0C or 1.1", spec.Type, o.Protocol)
	}
	for i, u := range o.URLs {
		if u.Path == "" {
			return nil, fmt.Errorf("%s: url %d: no path", spec.Type, i+1)
		}
		if u.Digest != "" {
			if b, err := hex.DecodeString(u.Digest); err != nil || len(b) != md5.Size {
				return nil, fmt.Errorf("%s: url %d: digest %q is not 32 hex digits", spec.Type, i+1, u.Digest)
			}
		}
		for _, r := range u.StatusCodes {
			if r.Lo < 100 || r.Hi > 599 || r.Hi < r.Lo {
				return nil, fmt.Errorf("%s: url %d: status_code %d-%d out of 100-599", spec.Type, i+1, r.Lo, r.Hi)
			}
		}
		if u.Regex != "" {
			re, err := compileBodyRegex(u.Regex, u.RegexOptions)
			if err != nil {
				return nil, fmt.Errorf("%s: url %d: regex: %w", spec.Type, i+1, err)
			}
			c.regexes[i] = re
		}
		if u.RegexMinOffset < 0 || u.RegexMaxOffset < 0 || (u.RegexMaxOffset > 0 && u.RegexMaxOffset <= u.RegexMinOffset) {
			return nil, fmt.Errorf("%s: url %d: regex_min_offset %d / regex end %d: want 0 ≤ min < end", spec.Type, i+1, u.RegexMinOffset, u.RegexMaxOffset)
		}
	}
	if useTLS {
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Type, err)
		}
		c.tls = cfg
	}
	return c, nil
}

func tlsConfig(o *HTTPOptions) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: !o.VerifyCert} //nolint:gosec // keepalived does not verify unless asked
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca %s: no PEM certificate", o.CAFile)
		}
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificate/key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (c *httpChecker) Steps() int         { return len(c.opts.URLs) }
func (c *httpChecker) FastRecovery() bool { return c.opts.FastRecovery }

func (c *httpChecker) Check(ctx context.Context, t Target) Result {
	i := t.Step % len(c.opts.URLs)
	u := c.opts.URLs[i]
	conn, err := dial(ctx, t, "tcp")
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	resp, err := c.exchange(ctx, conn, t, u, u.Digest != "" || c.regexes[i] != nil, false)
	if err != nil {
		return Down("url %d %s: %w", i+1, u.Path, err)
	}
	if !statusOK(resp.status, u.StatusCodes) {
		return Down("url %d %s: HTTP status %d not in %s", i+1, u.Path, resp.status, formatRanges(u.StatusCodes))
	}
	if u.Digest != "" {
		sum := md5.Sum(resp.body)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, u.Digest) {
			return Down("url %d %s: digest %s, want %s", i+1, u.Path, got, strings.ToLower(u.Digest))
		}
	}
	if re := c.regexes[i]; re != nil {
		if matched := re.match(resp.body, u.RegexMinOffset, u.RegexMaxOffset); matched == u.RegexNoMatch {
			if u.RegexNoMatch {
				return Down("url %d %s: body matches regex %q", i+1, u.Path, u.Regex)
			}
			return Down("url %d %s: body does not match regex %q", i+1, u.Path, u.Regex)
		}
	}
	return Up()
}

// httpResponse is a response as keepalived reads it: the status, and when asked for
// the header as received (through the blank line) and the body.
type httpResponse struct {
	status       int
	header, body []byte
}

// exchange sends u's request on conn (after the TLS handshake for SSL_GET) and reads
// the response. The body is what keepalived digests and matches: the bytes after the
// header, up to Content-Length, or to the end of the connection — chunk framing
// included, as keepalived does not decode it, so that digests genhash computed hold.
func (c *httpChecker) exchange(ctx context.Context, conn net.Conn, t Target, u URL, withBody, withHeader bool) (httpResponse, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	host := u.VirtualHost
	if host == "" {
		host = c.opts.VirtualHost
	}
	if c.tls != nil {
		cfg := c.tls.Clone()
		if c.opts.SNIName != "" {
			cfg.ServerName = c.opts.SNIName
		} else if c.opts.EnableSNI && host != "" {
			cfg.ServerName = host
		} else if c.opts.VerifyCert {
			cfg.ServerName = t.Addr.Addr().String()
			if host != "" {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return httpResponse{}, fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	if _, err := io.WriteString(conn, c.request(u.Path, host, t)); err != nil {
		return httpResponse{}, fmt.Errorf("sending request: %w", err)
	}
	var from io.Reader = conn
	var rec *headerRecorder
	if withHeader {
		rec = &headerRecorder{r: conn}
		from = rec
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(from)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return httpResponse{}, fmt.Errorf("reading response: %w", err)
	}
	defer resp.Body.Close()
	out := httpResponse{status: resp.StatusCode}
	if rec != nil {
		out.header = rec.header()
	}
	if !withBody {
		return out, nil
	}
	var body io.Reader = resp.Body
	if slices.Contains(resp.TransferEncoding, "chunked") {
		body = br
	}
	if out.body, err = io.ReadAll(io.LimitReader(body, MaxBody+1)); err != nil {
		return out, fmt.Errorf("reading body: %w", err)
	}
	if len(out.body) > MaxBody {
		return out, fmt.Errorf("body larger than %d bytes", MaxBody)
	}
	return out, nil
}

// headerRecorder keeps what is read through it until the end of the header (a blank
// line), for genhash's verbose dump.
type headerRecorder struct {
	r    io.Reader
	buf  []byte
	done bool
}

func (h *headerRecorder) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.done {
		h.buf = append(h.buf, p[:n]...)
		h.done = bytes.Contains(h.buf, []byte("\r\n\r\n")) || len(h.buf) > 64<<10
	}
	return n, err
}

// header is the recorded header, through its blank line.
func (h *headerRecorder) header() []byte {
	if i := bytes.Index(h.buf, []byte("\r\n\r\n")); i >= 0 {
		return h.buf[:i+4]
	}
	return h.buf
}

// Fetch makes the request an HTTP_GET (SSL_GET with useTLS) checker makes for path at
// t, and returns the response header as received and the body it would digest: what
// keepalived's genhash shows and hashes.
func Fetch(ctx context.Context, t Target, opts HTTPOptions, useTLS bool, path string) (header, body []byte, err error) {
	opts.URLs = []URL{{Path: path}}
	ck, err := buildHTTP(Spec{Type: "HTTP_GET", Options: &opts}, useTLS)
	if err != nil {
		return nil, nil, err
	}
	conn, err := dial(ctx, t, "tcp")
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	resp, err := ck.(*httpChecker).exchange(ctx, conn, t, opts.URLs[0], true, true)
	return resp.header, resp.body, err
}

// request renders keepalived's GET: its request line, User-Agent and Host, plus
// Connection: close for 1.0C and 1.1.
func (c *httpChecker) request(path, host string, t Target) string {
	if host == "" {
		host = t.Addr.Addr().String()
		if t.Addr.Addr().Is6() && !t.Addr.Addr().Is4In6() {
			host = "[" + host + "]"
		}
		defaultPort := uint16(80)
		if c.tls != nil {
			defaultPort = 443
		}
		if t.Addr.Port() != defaultPort {
			host = net.JoinHostPort(t.Addr.Addr().String(), strconv.Itoa(int(t.Addr.Port())))
		}
	}
	version, closeHdr := "HTTP/1.0", ""
	switch c.opts.Protocol {
	case "1.0C":
		closeHdr = "Connection: close\r\n"
	case "1.1":
		version, closeHdr = "HTTP/1.1", "Connection: close\r\n"
	}
	return fmt.Sprintf("GET %s %s\r\nUser-Agent: %s\r\nHost: %s\r\n%s\r\n", path, version, UserAgent, host, closeHdr)
}

func statusOK(code int, ranges []StatusRange) bool {
	if len(ranges) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range ranges {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

func formatRanges(ranges []StatusRange) string {
	if len(ranges) == 0 {
		return "200-299"
	}
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = strconv.Itoa(r.Lo)
		if r.Hi != r.Lo {
			parts[i] += "-" + strconv.Itoa(r.Hi)
		}
	}
	return strings.Join(parts, " ")
}

var (
	_ Checker = (*httpChecker)(nil)
	_ Stepper = (*httpChecker)(nil)
)
