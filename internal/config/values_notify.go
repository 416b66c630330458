package config

import (
	"net/netip"
	"strings"
)

// Value kinds of the mail and notify FIFO keywords of global_defs.
var (
	kMailbox    = kind{doc: "ADDRESS", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return parseMailbox(a[0].Text, 0) }}
	kSMTPServer = kind{doc: "HOST|IP [PORT]", minArgs: 1, maxArgs: 2, parse: parseSMTPServer}
	kHostName   = kind{doc: "HOST", minArgs: 1, maxArgs: 1, parse: parseHeloName}
	kFIFO       = kind{doc: "PATH [USER [GROUP]]", minArgs: 1, maxArgs: 3, parse: parseFIFO}
	// eMailbox is notification_email: every word of every line is one address, as
	// keepalived reads the block.
	eMailbox = kind{doc: "{ ADDRESS … }", entry: func(t []Token) (any, error) {
		out := make([]string, len(t))
		for i, tok := range t {
			m, err := parseMailbox(tok.Text, i)
			if err != nil {
				return nil, err
			}
			out[i] = m
		}
		return out, nil
	}}
)

// atextSpecials are the characters besides letters and digits RFC 5322 allows in an
// unquoted local part.
const atextSpecials = "!#$%&'*+-/=?^_`{|}~."

// parseMailbox checks an address keepalived writes into "MAIL FROM:<…>" and
// "RCPT TO:<…>": LOCAL[@DOMAIN]. A blank, a control character or one of <>()[],;:"\
// would break the SMTP command or the header, so they are refused. A local part alone
// is accepted, as keepalived sends it unchanged (the sample configurations use one).
func parseMailbox(s string, arg int) (string, error) {
	local, domain, hasAt := s, "", false
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		local, domain, hasAt = s[:i], s[i+1:], true
	}
	if local == "" {
		return "", argErrorf(arg, "%q is not a mail address (LOCAL@DOMAIN): the part before @ is empty", s)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !isAlnum(c) && c < 0x80 && !strings.ContainsRune(atextSpecials, rune(c)) {
			return "", argErrorf(arg, "%q is not a mail address (LOCAL@DOMAIN): %q is not allowed before the @ (letters, digits and %s are)", s, string(c), atextSpecials)
		}
	}
	if hasAt && !validHostName(domain) {
		return "", argErrorf(arg, "%q is not a mail address (LOCAL@DOMAIN): %q is not a domain name", s, domain)
	}
	return s, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validHostName reports whether s is a DNS name: dot-separated labels of 1..63 letters,
// digits, '-' (not at either end of a label) or '_', 253 bytes at most. A trailing dot
// is allowed. Bytes above 0x7f pass, so that internationalised names are left to the
// resolver.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' && c < 0x80 {
				return false
			}
		}
	}
	return true
}

// parseSMTPServer reads smtp_server HOST|IP [PORT]: port 25 when absent.
func parseSMTPServer(a []Token, _ string) (any, error) {
	hp := &HostPort{Host: a[0].Text, Port: 25}
	if addr, err := netip.ParseAddr(a[0].Text); err == nil {
		hp.Host = addr.String()
	} else if !validHostName(a[0].Text) {
		return nil, argErrorf(0, "%q is not an IP address or a host name", a[0].Text)
	}
	if len(a) > 1 {
		p, err := parsePort(a[1].Text, 1)
		if err != nil || p == 0 {
			return nil, argErrorf(1, "%q is not a port (1..65535)", a[1].Text)
		}
		hp.Port = p
	}
	return hp, nil
}

// parseHeloName reads smtp_helo_name: the name sent in HELO, a host name or an address.
func parseHeloName(a []Token, _ string) (any, error) {
	s := a[0].Text
	if _, err := netip.ParseAddr(s); err != nil && !validHostName(s) {
		return nil, argErrorf(0, "%q is not a host name or an IP address", s)
	}
	return s, nil
}

// parseFIFO reads notify_fifo PATH [USER [GROUP]].
func parseFIFO(a []Token, _ string) (any, error) {
	f := &FIFO{Path: a[0].Text}
	if len(a) > 1 {
		f.Owner.User = a[1].Text
	}
	if len(a) > 2 {
		f.Owner.Group = a[2].Text
	}
	return f, nil
}
