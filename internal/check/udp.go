package check

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// UDPOptions are UDP_CHECK's keywords.
type UDPOptions struct {
	Payload []byte // payload HEX (ParseHex); empty sends an empty datagram
	// RequireReply (require_reply [HEX]): the server must answer; with Pattern, the
	// answer must start with it.
	RequireReply bool
	Pattern      Pattern
	// MinReplyLength and MaxReplyLength (min_reply_length [0], max_reply_length [255])
	// bound the reply's size when a reply is required.
	MinReplyLength int
	MaxReplyLength int
}

// Pattern is require_reply's hex with X wildcards: one entry per nibble, -1 for X.
type Pattern []int8

// ParseHex parses payload's hex digits.
func ParseHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		var inv hex.InvalidByteError
		if errors.As(err, &inv) {
			return nil, fmt.Errorf("payload %q: %q at offset %d is not a hex digit", s, byte(inv), strings.IndexByte(s, byte(inv)))
		}
		return nil, fmt.Errorf("payload %q: odd number of hex digits", s)
	}
	return b, nil
}

// ParsePattern parses require_reply's hex digits and X (either case) wildcards; an
// even number of digits is needed, as for a payload.
func ParsePattern(s string) (Pattern, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("require_reply %q: odd number of hex digits", s)
	}
	p := make(Pattern, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'X' || c == 'x':
			p[i] = -1
		case c >= '0' && c <= '9':
			p[i] = int8(c - '0')
		case c >= 'a' && c <= 'f':
			p[i] = int8(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			p[i] = int8(c - 'A' + 10)
		default:
			return nil, fmt.Errorf("require_reply %q: %q at offset %d is neither a hex digit nor X", s, c, i)
		}
	}
	return p, nil
}

// Match reports whether b starts with the pattern.
func (p Pattern) Match(b []byte) bool {
	if len(b)*2 < len(p) {
		return false
	}
	for i, want := range p {
		nibble := b[i/2] >> 4
		if i%2 == 1 {
			nibble = b[i/2] & 0x0f
		}
		if want >= 0 && int8(nibble) != want {
			return false
		}
	}
	return true
}

// udpChecker is UDP_CHECK. It sends the payload; without require_reply the server is up
// unless an ICMP error (port unreachable) comes back within connect_timeout; with it,
// a reply of the right size and prefix must come back.
type udpChecker struct{ opts UDPOptions }

func init() { Register("UDP_CHECK", Kind{New: newUDP}) }

func newUDP(spec Spec, _ Env) (Checker, error) {
	o, _ := spec.Options.(*UDPOptions)
	c := &udpChecker{opts: UDPOptions{MaxReplyLength: 255}}
	if o != nil {
		c.opts = *o
		if c.opts.MaxReplyLength == 0 {
			c.opts.MaxReplyLength = 255
		}
	}
	if c.opts.MinReplyLength < 0 || c.opts.MaxReplyLength < c.opts.MinReplyLength || c.opts.MaxReplyLength > 65535 {
		return nil, fmt.Errorf("UDP_CHECK: min_reply_length %d / max_reply_length %d: want 0 ≤ min ≤ max ≤ 65535",
			c.opts.MinReplyLength, c.opts.MaxReplyLength)
	}
	if len(c.opts.Pattern) > 0 && !c.opts.RequireReply {
		c.opts.RequireReply = true
	}
	return c, nil
}

func (c *udpChecker) Check(ctx context.Context, t Target) Result {
	conn, err := dial(ctx, t, "udp")
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write(c.opts.Payload); err != nil {
		return Down("sending: %w", err)
	}
	buf := make([]byte, c.opts.MaxReplyLength+1)
	n, err := conn.Read(buf)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Down("port unreachable")
	case err != nil && !c.opts.RequireReply && (isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return Up() // silence without an ICMP error is what an alive UDP service looks like
	case err != nil && (isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded)):
		// The deadline closes the socket as it ends the read: say what happened.
		return Down("no reply within %v", t.Timeout)
	case err != nil:
		return Down("no reply: %w", err)
	case n < c.opts.MinReplyLength || n > c.opts.MaxReplyLength:
		return Down("reply of %d bytes, want %d..%d", n, c.opts.MinReplyLength, c.opts.MaxReplyLength)
	case !c.opts.Pattern.Match(buf[:n]):
		return Down("reply %x does not match require_reply", buf[:min(n, 32)])
	}
	return Up()
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

var _ Checker = (*udpChecker)(nil)
