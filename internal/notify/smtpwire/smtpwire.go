// Package smtpwire speaks the small part of SMTP that keepalived uses, both to send
// alerts (HELO, MAIL, RCPT, DATA, QUIT) and for SMTP_CHECK (banner, HELO, QUIT): reading
// one possibly multi-line reply with bounded memory, and writing a command with a
// deadline. It does no TLS and no authentication, like keepalived.
package smtpwire

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// MaxLine bounds one reply line; MaxLines bounds a multi-line reply. A server exceeding
// them is broken or hostile, and the conversation ends with an error.
const (
	MaxLine  = 1024
	MaxLines = 64
)

// ErrMalformed is wrapped by errors about replies that are not SMTP.
var ErrMalformed = errors.New("malformed SMTP reply")

// Reply is one server reply: its three-digit code and its text lines joined by "\n".
type Reply struct {
	Code int
	Text string
}

// ReadReply reads one reply. Continuation lines ("250-…") must carry the same code as
// the final line ("250 …"), as RFC 5321 §4.2.1 says.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var lines []string
	code := -1
	for n := 1; ; n++ {
		if n > MaxLines {
			return Reply{}, fmt.Errorf("%w: more than %d lines", ErrMalformed, MaxLines)
		}
		line, err := readLine(r)
		if err != nil {
			return Reply{}, err
		}
		c, last, text, err := parseLine(line)
		if err != nil {
			return Reply{}, fmt.Errorf("line %d: %w", n, err)
		}
		if code >= 0 && c != code {
			return Reply{}, fmt.Errorf("%w: line %d: code %d inside a %d reply", ErrMalformed, n, c, code)
		}
		code = c
		lines = append(lines, text)
		if last {
			return Reply{Code: code, Text: strings.Join(lines, "\n")}, nil
		}
	}
}

// readLine reads up to CRLF (a bare LF is accepted), at most MaxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > MaxLine {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLine)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// parseLine splits "250-text" / "250 text" / "250".
func parseLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q is shorter than a code", ErrMalformed, line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("%w: %q does not start with a 3-digit code", ErrMalformed, line)
		}
		code = code*10 + int(line[i]-'0')
	}
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("%w: code %d out of range 200-599", ErrMalformed, code)
	}
	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		return code, true, line[4:], nil
	case line[3] == '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: %q: code followed by %q, want ' ' or '-'", ErrMalformed, line, line[3])
}

// Conn is a client connection with a per-step deadline.
type Conn struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// NewConn wraps c; every Expect and Cmd must finish within timeout.
func NewConn(c net.Conn, timeout time.Duration) *Conn {
	return &Conn{conn: c, r: bufio.NewReaderSize(c, MaxLine), timeout: timeout}
}

// Expect reads a reply and checks its code.
func (c *Conn) Expect(want int, what string) (Reply, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return Reply{}, err
	}
	rep, err := ReadReply(c.r)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", what, err)
	}
	if rep.Code != want {
		return rep, &CodeError{What: what, Want: want, Got: rep}
	}
	return rep, nil
}

// Cmd sends one command line (CRLF added) and expects a reply with code want.
func (c *Conn) Cmd(want int, line string) (Reply, error) {
	if err := c.Write(line + "\r\n"); err != nil {
		return Reply{}, err
	}
	what, _, _ := strings.Cut(line, " ")
	return c.Expect(want, what)
}

// Write sends raw text within the deadline.
func (c *Conn) Write(s string) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	_, err := c.conn.Write([]byte(s))
	return err
}

// CodeError is an unexpected reply code.
type CodeError struct {
	What string
	Want int
	Got  Reply
}

func (e *CodeError) Error() string {
	return fmt.Sprintf("%s: server answered %d %q, want %d", e.What, e.Got.Code, e.Got.Text, e.Want)
}

// Clean makes s safe for one header or command line: CR, LF and other control
// characters become spaces, so a subject or hostname cannot inject commands or headers.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
