package config

import (
	"fmt"
	"strconv"
	"strings"
)

// FileMask is a umask: the permission bits (of 0777) that files the daemon creates do
// not get. It is written in octal.
type FileMask uint32

// MarshalText writes the mask as four octal digits, as umask(1) prints it.
func (m FileMask) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%04o", uint32(m)), nil }

// umaskBits are the bit names keepalived's umask takes, S_ without its prefix.
var umaskBits = map[string]FileMask{
	"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100,
	"IRGRP": 0o040, "IWGRP": 0o020, "IXGRP": 0o010,
	"IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
}

// kUmask is global umask: one number as C's strtol reads it with base 0 (0NNN octal,
// 0xNN hexadecimal, else decimal) within 0777, or bit names joined by '|' with or
// without spaces around it (IWGRP|IWOTH, IWGRP | IWOTH), as keepalived's umask_handler.
var kUmask = kind{doc: "NUM | BIT[|BIT…] (BIT: IRUSR IWUSR IXUSR IRGRP IWGRP IXGRP IROTH IWOTH IXOTH)", minArgs: 1, maxArgs: -1, parse: parseUmask}

// DefaultFileMask is the umask keepalived sets at start unless its -u option says
// otherwise: files it creates are readable and writable by their owner only.
const DefaultFileMask FileMask = 0o177

// ParseFileMask reads a numeric umask as keepalived's -u/--umask option and its umask
// keyword do: C's strtol with base 0 (0NNN octal, 0xNN hexadecimal, else decimal),
// within 0777.
func ParseFileMask(text string) (FileMask, error) {
	n, err := strconv.ParseInt(text, 0, 32)
	if err != nil || strings.Contains(text, "_") || strings.HasPrefix(text, "0o") || strings.HasPrefix(text, "0b") || n&^0o777 != 0 {
		return 0, fmt.Errorf("invalid umask %q: want a number within 0777 (0NNN octal, 0xNN hexadecimal or decimal)", text)
	}
	return FileMask(n), nil
}

func parseUmask(a []Token, _ string) (any, error) {
	if c := a[0].Text[0]; c >= '0' && c <= '9' {
		if len(a) != 1 {
			return nil, argErrorf(1, "a numeric umask takes no further words")
		}
		m, err := ParseFileMask(a[0].Text)
		if err != nil {
			return nil, argErrorf(0, "%v", err)
		}
		return m, nil
	}
	var mask FileMask
	needOr := false // a bit was read and a '|' must come before the next
	for i, tok := range a {
		for p := tok.Text; p != ""; {
			if needOr {
				if p[0] != '|' {
					return nil, argErrorf(i, "invalid umask syntax %q: bits are joined by '|'", tok.Text)
				}
				needOr, p = false, p[1:]
				continue
			}
			if len(p) < 5 || umaskBits[p[:5]] == 0 {
				return nil, argErrorf(i, "unknown umask bit %q; want IRUSR IWUSR IXUSR IRGRP IWGRP IXGRP IROTH IWOTH IXOTH or an octal number", p)
			}
			mask |= umaskBits[p[:5]]
			needOr, p = true, p[5:]
		}
	}
	if !needOr {
		return nil, argErrorf(len(a)-1, "umask ends without a bit after '|'")
	}
	return mask, nil
}
