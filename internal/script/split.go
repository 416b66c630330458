package script

import (
	"fmt"
	"strings"
)

// Split turns a keepalived command string (misc_path, notify_up, script …) into argv the
// way keepalived does before exec: words are separated by blanks; single quotes keep
// everything literally; double quotes keep blanks and allow \" and \\; outside quotes a
// backslash escapes the next character. No other shell syntax (redirection, pipes,
// variables) is interpreted: such characters are plain text, as in keepalived without a
// shell. An unterminated quote or a trailing backslash is an error naming its offset.
func Split(cmd string) ([]string, error) {
	var (
		argv    []string
		word    strings.Builder
		inWord  bool
		quote   byte // 0, '\'' or '"'
		quoteAt int
	)
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(cmd) && (cmd[i+1] == '"' || cmd[i+1] == '\\'):
				i++
				word.WriteByte(cmd[i])
			default:
				word.WriteByte(c)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				argv = append(argv, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			quote, quoteAt, inWord = c, i, true
		case c == '\\':
			if i+1 == len(cmd) {
				return nil, fmt.Errorf("command %q: trailing backslash at offset %d", cmd, i)
			}
			i++
			word.WriteByte(cmd[i])
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: unterminated %c quote at offset %d", cmd, quote, quoteAt)
	}
	if inWord {
		argv = append(argv, word.String())
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("command %q: empty", cmd)
	}
	return argv, nil
}
