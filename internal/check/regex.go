package check

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// bodyRegex is a url block's regex as keepalived's PCRE2 reads it, in Go's RE2: the
// regex_options govs can honour become RE2 flags or rewrites, the rest are refused
// (the configuration warned about them and left them out).
type bodyRegex struct {
	re *regexp.Regexp
	// firstLine is PCRE2's firstline: the match must start at or before the body's
	// first newline.
	firstLine bool
}

// ValidateRegex reports whether a url block's regex, with its regex_options, can run:
// RE2 has no back-references or look-around, which PCRE2 patterns may use.
func ValidateRegex(pattern string, options []string) error {
	_, err := compileBodyRegex(pattern, options)
	return err
}

// compileBodyRegex compiles pattern with keepalived's regex_options.
func compileBodyRegex(pattern string, options []string) (*bodyRegex, error) {
	var flags string
	dollarEndOnly, extended, firstLine := false, false, false
	for _, o := range options {
		switch o {
		case "caseless":
			flags += "i"
		case "multiline":
			flags += "m"
		case "dotall":
			flags += "s"
		case "ungreedy":
			flags += "U"
		case "dollar_endonly":
			dollarEndOnly = true
		case "extended":
			extended = true
		case "firstline":
			firstLine = true
		case "no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "auto_callout",
			"use_offset_limit", "never_backslash_c", "never_utf", "never_ucp", "utf", "dupnames":
			// Optimisations, callouts, or limits RE2 has anyway: no change to what matches.
		default:
			return nil, fmt.Errorf("regex_options %s: not supported", o)
		}
	}
	if extended {
		pattern = stripExtended(pattern)
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if !dollarEndOnly {
		parsed = pcreDollar(parsed)
	}
	re, err := regexp.Compile(parsed.String())
	if err != nil {
		return nil, err
	}
	return &bodyRegex{re: re, firstLine: firstLine}, nil
}

// pcreDollar makes each $ outside multiline mode match before a final newline too,
// as PCRE2's does unless dollar_endonly; RE2's matches only at the very end.
func pcreDollar(re *syntax.Regexp) *syntax.Regexp {
	if re.Op == syntax.OpEndText && re.Flags&syntax.WasDollar != 0 {
		newlineEnd := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{
			{Op: syntax.OpLiteral, Rune: []rune{'\n'}}, {Op: syntax.OpEndText}}}
		return &syntax.Regexp{Op: syntax.OpAlternate, Sub: []*syntax.Regexp{re, newlineEnd}}
	}
	for i, sub := range re.Sub {
		re.Sub[i] = pcreDollar(sub)
	}
	return re
}

// stripExtended applies PCRE2's extended option: white space outside character
// classes is ignored and # starts a comment to the end of the line, unless escaped.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			i++
			b.WriteByte(p[i])
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(p) && p[i+1] == ']' {
				i++
				b.WriteByte(']')
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
		case c == '#':
			for i+1 < len(p) && p[i+1] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// match is keepalived's check_regex: the leftmost match at or after byte min of the
// body counts if it starts before byte end (0: anywhere).
func (r *bodyRegex) match(body []byte, min, end int) bool {
	if min > len(body) {
		return false
	}
	loc := r.re.FindIndex(body[min:])
	if loc == nil {
		return false
	}
	start := min + loc[0]
	if end > 0 && start >= end {
		return false
	}
	if r.firstLine {
		if nl := bytes.IndexByte(body, '\n'); nl >= 0 && start > nl {
			return false
		}
	}
	return true
}
