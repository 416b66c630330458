package check

import "testing"

// TestBodyRegex: keepalived's PCRE2 regex semantics on Go's RE2. The expectations were
// checked with PCRE2 itself (pcre2test 10.42, Debian 12) for the same pattern, options
// and subject.
func TestBodyRegex(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		options       []string
		body          string
		min, end      int
		want          bool
	}{
		{"plain", "ok", nil, "all ok\n", 0, 0, true},
		{"$ before a final newline", "ok$", nil, "all ok\n", 0, 0, true},
		{"$ not before an inner newline", "ok$", nil, "all ok\nmore", 0, 0, false},
		{"dollar_endonly", "ok$", []string{"dollar_endonly"}, "all ok\n", 0, 0, false},
		{"\\z stays strict", `ok\z`, nil, "all ok\n", 0, 0, false},
		{"multiline $", "^ok$", []string{"multiline"}, "a\nok\nb", 0, 0, true},
		{"without multiline", "^ok$", nil, "a\nok\nb", 0, 0, false},
		{"caseless", "OK", []string{"caseless"}, "all ok", 0, 0, true},
		{"case matters", "OK", nil, "all ok", 0, 0, false},
		{"dotall", "a.b", []string{"dotall"}, "a\nb", 0, 0, true},
		{"dot stops at newline", "a.b", nil, "a\nb", 0, 0, false},
		{"extended", "a b # comment\n c", []string{"extended"}, "xabc", 0, 0, true},
		{"extended keeps classes and escapes", `[ ]x\ y`, []string{"extended"}, "a x y", 0, 0, true},
		{"firstline", "ok", []string{"firstline"}, "first\nok", 0, 0, false},
		{"firstline on the first line", "ok", []string{"firstline"}, "ok\nrest", 0, 0, true},
		{"ungreedy", "<.+>", []string{"ungreedy"}, "<a><b>", 0, 0, true},
		{"from min", "ok", nil, "ok.....", 1, 0, false},
		{"start before end", "ok", nil, "...ok", 0, 4, true},
		{"start at end is too late", "ok", nil, "....ok", 0, 4, false},
		{"may end after end", "okay", nil, "..okay", 0, 3, true},
		{"min past the body", "ok", nil, "ok", 5, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := compileBodyRegex(tc.pattern, tc.options)
			if err != nil {
				t.Fatal(err)
			}
			if got := re.match([]byte(tc.body), tc.min, tc.end); got != tc.want {
				t.Errorf("%q %v on %q [%d, %d): %v, want %v (RE2 %s)", tc.pattern, tc.options, tc.body, tc.min, tc.end, got, tc.want, re.re)
			}
		})
	}
	if _, err := compileBodyRegex("x", []string{"ucp"}); err == nil {
		t.Error("an option govs cannot honour compiled")
	}
}

// FuzzBodyRegex: any pattern, option set and body compile or fail cleanly, and match
// never panics.
func FuzzBodyRegex(f *testing.F) {
	f.Add("a b # c\n d", uint8(0xff), "xabd\n", 1, 3)
	f.Add(`[ ]x\ y$`, uint8(1), "a x y\n", 0, 0)
	f.Fuzz(func(t *testing.T, pattern string, opts uint8, body string, min, end int) {
		names := []string{"caseless", "multiline", "dotall", "ungreedy", "dollar_endonly", "extended", "firstline", "utf"}
		var options []string
		for i, n := range names {
			if opts&(1<<i) != 0 {
				options = append(options, n)
			}
		}
		re, err := compileBodyRegex(pattern, options)
		if err != nil {
			return
		}
		re.match([]byte(body), max(min, 0), max(end, 0))
	})
}
