package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Token is one word of a configuration line after comments, conditionals and parameters
// were processed. Quoted tokens keep their text without the quotes.
type Token struct {
	Text   string `json:"text"`
	Col    int    `json:"col"`
	Quoted bool   `json:"quoted,omitempty"`
}

// definition is a $NAME parameter: its value lines, or a function for the predefined
// ones that compute their value (${_RANDOM}).
type definition struct {
	lines     []string
	multiline bool
	fn        func(params []int64) string
	maxParams int
}

// lexer turns files into logical lines, applying keepalived's line-level rules in
// keepalived's order: comments, conditional lines, parameter definitions, ~SEQ/~LST
// loops, parameter expansion, include, then splitting at braces.
type lexer struct {
	opts    *Options
	lim     Limits
	src     fileSource
	d       *diagSink
	defs    map[string]*definition
	tree    *treeBuilder // takes each logical line: a lone "{" or "}", or a keyword line
	arena   []Token      // backing store for the tokens of all lines, to allocate in bulk
	stack   []string     // include stack, for cycle detection and ${_PWD}
	pending *definition
	work    int  // processed lines, including generated ones, against lim.MaxLines
	bytes   int  // bytes read from files, against lim.MaxBytes
	stopped bool // a hard limit was hit: produce nothing more
	rand    uint64
	// usedRandom says a ${_RANDOM} was expanded.
	usedRandom bool
	// includeCheck is include_check's setting where the lexer is; an included file's
	// changes end with it.
	includeCheck includeChecks
}

func newLexer(opts *Options, src fileSource, d *diagSink) *lexer {
	lx := &lexer{opts: opts, lim: opts.Limits.withDefaults(), src: src, d: d, defs: map[string]*definition{}}
	lx.tree = newTreeBuilder(lx.lim.MaxBlockDepth)
	lx.rand = uint64(opts.RandomSeed)*0x9E3779B97F4A7C15 + 1
	lx.defs["_PWD"] = &definition{fn: func([]int64) string { return path.Dir(lx.currentFile()) }}
	lx.defs["_INSTANCE"] = &definition{lines: []string{opts.ConfigID}}
	lx.defs["_HASH"] = &definition{lines: []string{"#"}}
	lx.defs["_BANG"] = &definition{lines: []string{"!"}}
	lx.defs["_RANDOM"] = &definition{fn: lx.random, maxParams: 2}
	if opts.AllIncludes {
		lx.includeCheck = includeAll
	}
	return lx
}

func (lx *lexer) currentFile() string {
	if len(lx.stack) == 0 {
		return ""
	}
	return lx.stack[len(lx.stack)-1]
}

// random implements ${_RANDOM [MIN [MAX]]}: an integer in [MIN, MAX], 0..32767 by
// default. The generator is seeded from Options.RandomSeed so parsing stays repeatable.
func (lx *lexer) random(params []int64) string {
	lx.usedRandom = true
	lo, hi := int64(0), int64(32767)
	if len(params) > 0 {
		lo = params[0]
	}
	if len(params) > 1 {
		hi = params[1]
	}
	if hi < lo {
		hi = lo
	}
	// xorshift64*: small, deterministic, good enough for spreading values.
	lx.rand ^= lx.rand >> 12
	lx.rand ^= lx.rand << 25
	lx.rand ^= lx.rand >> 27
	r := lx.rand * 2685821657736338717
	return strconv.FormatInt(lo+int64(r%uint64(hi-lo+1)), 10)
}

// stop records that a hard limit was reached; the lexer produces nothing more.
func (lx *lexer) stop(p Pos, format string, args ...any) {
	if !lx.stopped {
		lx.d.errorf(p, format, args...)
	}
	lx.stopped = true
}

// readFile reads one configuration file (the main one or an include) and lexes it.
func (lx *lexer) readFile(name string, at Pos, mustExist bool) {
	if lx.stopped {
		return
	}
	for _, f := range lx.stack {
		if f == name {
			lx.d.errorf(at, "include cycle: %s includes itself (%s)", name, strings.Join(append(lx.stack, name), " -> "))
			return
		}
	}
	if len(lx.stack) > lx.lim.MaxIncludeDepth {
		lx.d.errorf(at, "includes nested deeper than %d files", lx.lim.MaxIncludeDepth)
		return
	}
	data, err := lx.src.read(name, lx.lim.MaxBytes-lx.bytes)
	if err != nil {
		if errorsIsTooBig(err) {
			lx.stop(at, "%s: configuration larger than %d bytes in all", name, lx.lim.MaxBytes)
			return
		}
		switch {
		case mustExist || !errorsIsNotExist(err):
			lx.d.includeErrorf(at, "cannot read %s: %v", name, unwrapPathError(err))
		default:
			lx.d.notice(at, "include: %s does not exist", name)
		}
		return
	}
	lx.bytes += len(data)
	saved := lx.includeCheck
	lx.lexFile(name, data)
	lx.includeCheck = saved
}

// lexFile splits a file into physical lines and processes each.
func (lx *lexer) lexFile(name, data string) {
	lx.stack = append(lx.stack, name)
	defer func() { lx.stack = lx.stack[:len(lx.stack)-1] }()
	// About one keyword line per line and one more after each '{' ("real_server
	// 10.0.0.1 80 { weight 1 }" has two): the tree's nodes in one allocation.
	lx.tree.reserve(strings.Count(data, "\n") + strings.Count(data, "{") + 1)
	lineNo := 0
	for len(data) > 0 && !lx.stopped {
		lineNo++
		var phys string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			phys, data = data[:i], data[i+1:]
		} else {
			phys, data = data, ""
		}
		phys = strings.TrimRight(phys, "\r")
		pos := Pos{File: name, Line: lineNo, Col: 1}
		if phys == "" {
			// A blank line ends a multi-line definition, as in keepalived.
			lx.endPending()
			continue
		}
		text, col, cont := decomment(phys)
		pos.Col = col
		if text == "" {
			continue
		}
		lx.process(text, pos, cont, 0)
	}
	lx.endPending()
}

func (lx *lexer) endPending() {
	if lx.pending != nil {
		if len(lx.pending.lines) > 1 {
			lx.pending.multiline = true
		}
		lx.pending = nil
	}
}

// decomment strips leading and trailing blanks and a comment ('#' or '!' outside double
// quotes), removes the backslash of an escaped '\#' or '\!', and reports a trailing '\'
// (a continued definition). col is the 1-based column of the first character kept.
func decomment(s string) (text string, col int, cont bool) {
	lead := len(s) - len(strings.TrimLeft(s, " \t"))
	s = s[lead:]
	col = lead + 1
	var b []byte // allocated only when an escape must be removed
	quote := false
	end := len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\' && i+1 < len(s):
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				if b == nil {
					b = append(make([]byte, 0, len(s)), s[:i]...)
				}
				b = append(b, s[i+1])
				i++
				continue
			}
			if b != nil {
				b = append(b, c, s[i+1])
			}
			i++
			continue
		case c == '\\':
			cont = true
			end = i
		case !quote && (c == '#' || c == '!'):
			end = i
		}
		if end != len(s) {
			break
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b != nil {
		text = string(b)
	} else {
		text = s[:end]
	}
	return strings.TrimRight(text, " \t"), col, cont
}

// process applies conditional lines, definitions, ~SEQ/~LST, parameter expansion and
// include to one line, then emits it. depth counts generated nesting (loops and
// multi-line parameters), bounded by Limits.MaxExpandDepth.
func (lx *lexer) process(text string, pos Pos, cont bool, depth int) {
	if lx.stopped {
		return
	}
	lx.work++
	if lx.work > lx.lim.MaxLines {
		lx.stop(pos, "configuration expands to more than %d lines", lx.lim.MaxLines)
		return
	}
	if depth > lx.lim.MaxExpandDepth {
		lx.stop(pos, "parameters and ~SEQ/~LST nested deeper than %d levels", lx.lim.MaxExpandDepth)
		return
	}
	if lx.pending != nil {
		lx.pending.lines = append(lx.pending.lines, text)
		if !cont {
			lx.endPending()
		}
		return
	}
	var extra []string
	for round := 0; ; round++ {
		if round > lx.lim.MaxExpandDepth {
			lx.d.errorf(pos, "parameter expansion does not terminate after %d rounds", lx.lim.MaxExpandDepth)
			return
		}
		if text[0] == '@' {
			var keep bool
			text, keep = lx.conditional(text)
			if !keep || text == "" {
				return
			}
		}
		if text[0] == '$' {
			if name, value, ok := splitDefinition(text); ok {
				def := &definition{lines: []string{value}}
				if cont {
					if value == "" {
						def.lines = nil
					}
					lx.pending = def
				}
				lx.defs[name] = def
				return
			}
		}
		if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
			lx.loop(text, pos, depth)
			return
		}
		if text[0] == '~' || !strings.Contains(text, "$") {
			break
		}
		expanded, more, changed, err := lx.expand(text)
		if err != "" {
			lx.d.errorf(pos, "%s", err)
			return
		}
		if !changed {
			break
		}
		if len(more) > 0 {
			extra = append(more, extra...)
		}
		text, _, _ = decomment(expanded)
		if text == "" {
			break
		}
		if text[0] != '@' && !strings.Contains(text, "$") {
			break
		}
	}
	if cont {
		lx.d.warnf(pos, "a trailing '\\' continues only $NAME= definitions; it is ignored here")
	}
	if text != "" && !lx.include(text, pos) {
		lx.emit(text, pos)
	}
	for _, l := range extra {
		if l = strings.TrimSpace(l); l != "" {
			lx.process(l, pos, false, depth+1)
		}
	}
}

// conditional handles "@ID rest" (kept when the config id is ID) and "@^ID rest" (kept
// when it is not).
func (lx *lexer) conditional(text string) (string, bool) {
	negate := strings.HasPrefix(text, "@^")
	id := text[1:]
	if negate {
		id = text[2:]
	}
	sp := strings.IndexAny(id, " \t")
	if sp < 0 {
		return "", false
	}
	rest := strings.TrimLeft(id[sp:], " \t")
	id = id[:sp]
	match := lx.opts.ConfigID != "" && id == lx.opts.ConfigID
	return rest, match != negate
}

// splitDefinition recognises "$NAME=value": a name of letters, digits and '_' not
// starting with a digit, then '=' with no blank before it.
func splitDefinition(text string) (name, value string, ok bool) {
	eq := strings.IndexByte(text, '=')
	if eq < 2 {
		return "", "", false
	}
	name = text[1:eq]
	if !isNameStart(name[0]) {
		return "", "", false
	}
	for i := 1; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return "", "", false
		}
	}
	return name, strings.TrimLeft(text[eq+1:], " \t"), true
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// expand replaces $NAME (followed by a blank, ',', ')' or the end) and ${NAME} by their
// values, recursively, as keepalived does: the scan restarts at the replacement. A
// multi-line parameter may only end a line; its further lines are returned in more.
func (lx *lexer) expand(text string) (out string, more []string, changed bool, errMsg string) {
	b := text
	replacements := 0
	for i := 0; i < len(b); {
		j := strings.IndexByte(b[i:], '$')
		if j < 0 {
			break
		}
		j += i
		name, params, end, ok := parseReference(b, j)
		def := lx.defs[name]
		if !ok || def == nil || (len(params) > 0 && def.maxParams == 0) || len(params) > max(def.maxParams, 0) {
			i = j + 1
			continue
		}
		if def.multiline && end != len(b) {
			i = j + 1
			continue
		}
		var repl string
		switch {
		case def.fn != nil:
			repl = def.fn(params)
		case len(def.lines) > 0:
			repl = def.lines[0]
			if def.multiline && len(def.lines) > 1 {
				more = append(append([]string(nil), def.lines[1:]...), more...)
			}
		}
		b = b[:j] + repl + b[end:]
		changed = true
		replacements++
		if replacements > lx.lim.MaxExpansions {
			return "", nil, false, fmt.Sprintf("parameter expansion does not terminate (more than %d replacements on one line)", lx.lim.MaxExpansions)
		}
		if len(b) > lx.lim.MaxLineBytes {
			return "", nil, false, fmt.Sprintf("parameter expansion makes a line longer than %d bytes", lx.lim.MaxLineBytes)
		}
		if strings.HasPrefix(strings.TrimLeft(repl, " \t"), "~") {
			break
		}
		i = j
	}
	return b, more, changed, ""
}

// parseReference reads a parameter reference at b[j] == '$'. end is the index just
// after it. ${NAME N M} may carry numeric parameters (used by ${_RANDOM}).
func parseReference(b string, j int) (name string, params []int64, end int, ok bool) {
	k := j + 1
	braces := k < len(b) && b[k] == '{'
	if braces {
		k++
	}
	start := k
	if k >= len(b) || !isNameStart(b[k]) {
		return "", nil, 0, false
	}
	for k < len(b) && isNameChar(b[k]) {
		k++
	}
	name = b[start:k]
	if !braces {
		if k < len(b) && b[k] != ' ' && b[k] != '\t' && b[k] != ',' && b[k] != ')' {
			return "", nil, 0, false
		}
		return name, nil, k, true
	}
	close := strings.IndexByte(b[k:], '}')
	if close < 0 {
		return "", nil, 0, false
	}
	inner := b[k : k+close]
	if inner != "" {
		if inner[0] != ' ' || strings.HasSuffix(inner, " ") {
			return "", nil, 0, false
		}
		for _, f := range strings.Fields(inner) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil || n < 0 {
				return "", nil, 0, false
			}
			params = append(params, n)
		}
	}
	return name, params, k + close + 1, true
}

// loop runs a ~SEQ(var, start, step, end) or ~LST(var, v1, v2 …) line: the rest of the
// line is processed once per value with $var set.
func (lx *lexer) loop(text string, pos Pos, depth int) {
	var names []string
	var sets [][]string
	var rest string
	var err string
	if strings.HasPrefix(text, "~SEQ") {
		names, sets, rest, err = lx.parseSeq(text)
	} else {
		names, sets, rest, err = parseLst(text)
	}
	if err != "" {
		lx.d.errorf(pos, "%s", err)
		return
	}
	if len(sets) > lx.lim.MaxLines-lx.work {
		lx.stop(pos, "%s produces %d lines, more than the limit of %d", text[:4], len(sets), lx.lim.MaxLines)
		return
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" {
		return
	}
	for _, set := range sets {
		for i, n := range names {
			lx.defs[n] = &definition{lines: []string{set[i]}}
		}
		lx.process(rest, pos, false, depth+1)
		if lx.stopped {
			return
		}
	}
}

// parseSeq reads ~SEQ(var, [start,] [step,] end) or ~SEQx(…) (values in hex).
func (lx *lexer) parseSeq(text string) (names []string, sets [][]string, rest, errMsg string) {
	p := text[4:]
	hex := strings.HasPrefix(p, "x")
	if hex {
		p = p[1:]
	}
	p = strings.TrimLeft(p, " \t")
	if !strings.HasPrefix(p, "(") {
		return nil, nil, "", "invalid ~SEQ: '(' expected after ~SEQ"
	}
	close := strings.IndexByte(p, ')')
	if close < 0 {
		return nil, nil, "", "invalid ~SEQ: missing ')'"
	}
	inner, rest := p[1:close], p[close+1:]
	if strings.Contains(inner, "$") {
		if e, _, _, msg := lx.expand(inner); msg == "" {
			inner = e
		}
	}
	parts := strings.Split(inner, ",")
	v := strings.TrimSpace(parts[0])
	if v == "" || len(parts) < 2 || len(parts) > 4 {
		return nil, nil, "", "invalid ~SEQ: expected (var, [start,] [step,] end)"
	}
	for i := 0; i < len(v); i++ {
		if !isNameChar(v[i]) {
			return nil, nil, "", fmt.Sprintf("invalid ~SEQ: bad variable name %q", v)
		}
	}
	nums := make([]int64, 0, 3)
	for _, s := range parts[1:] {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err != nil {
			return nil, nil, "", fmt.Sprintf("invalid ~SEQ: %q is not a number", strings.TrimSpace(s))
		}
		nums = append(nums, n)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start, step = 1, 1
		if end < 0 {
			start = -1
		}
		if end < 1 {
			step = -1
		}
	case 2:
		start, end, step = nums[0], nums[1], 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			return nil, nil, "", "invalid ~SEQ values: the step does not lead from start to end"
		}
	}
	if hex && (start < 0 || end < 0) {
		return nil, nil, "", "~SEQx is only valid for non-negative numbers"
	}
	span := end - start
	if span < 0 {
		span = -span
	}
	abs := step
	if abs < 0 {
		abs = -abs
	}
	count := span/abs + 1
	if count > int64(lx.lim.MaxLines) || count < 0 {
		return nil, nil, "", fmt.Sprintf("~SEQ produces %d lines, more than the limit of %d", count, lx.lim.MaxLines)
	}
	sets = make([][]string, 0, count)
	for n, i := start, int64(0); i < count; n, i = n+step, i+1 {
		if hex {
			sets = append(sets, []string{strconv.FormatInt(n, 16)})
		} else {
			sets = append(sets, []string{strconv.FormatInt(n, 10)})
		}
	}
	return []string{v}, sets, rest, ""
}

// parseLst reads ~LST(var, v1, v2 …) or ~LST({a, b}, {1, 2}, {3, 4}).
func parseLst(text string) (names []string, sets [][]string, rest, errMsg string) {
	p := strings.TrimLeft(text[4:], " \t")
	bad := func(why string) ([]string, [][]string, string, string) {
		return nil, nil, "", "invalid ~LST: " + why
	}
	if !strings.HasPrefix(p, "(") {
		return bad("'(' expected after ~LST")
	}
	p = p[1:]
	// group reads "{x, y}" or a single item, returning its items and what follows.
	group := func(p string) ([]string, string, bool) {
		p = strings.TrimLeft(p, " \t")
		if strings.HasPrefix(p, "{") {
			c := strings.IndexByte(p, '}')
			if c < 0 {
				return nil, "", false
			}
			var items []string
			for _, s := range strings.Split(p[1:c], ",") {
				items = append(items, strings.TrimSpace(s))
			}
			return items, p[c+1:], true
		}
		e := strings.IndexAny(p, ",)")
		if e < 0 {
			return nil, "", false
		}
		return []string{strings.TrimSpace(p[:e])}, p[e:], true
	}
	names, p, ok := group(p)
	if !ok || len(names) == 0 {
		return bad("missing variable names")
	}
	for _, n := range names {
		if n == "" || !isNameStart(n[0]) {
			return bad(fmt.Sprintf("bad variable name %q", n))
		}
	}
	for {
		p = strings.TrimLeft(p, " \t")
		if strings.HasPrefix(p, ")") {
			rest = p[1:]
			break
		}
		if !strings.HasPrefix(p, ",") {
			return bad("',' or ')' expected")
		}
		vals, next, ok := group(p[1:])
		if !ok {
			return bad("unterminated value list")
		}
		if len(vals) > len(names) {
			return bad(fmt.Sprintf("%d values for %d variables", len(vals), len(names)))
		}
		for len(vals) < len(names) {
			vals = append(vals, "")
		}
		sets = append(sets, vals)
		p = next
	}
	if len(sets) == 0 {
		return bad("no values")
	}
	return names, sets, rest, ""
}

// emit splits a processed line at braces outside double quotes, then tokenises each part.
func (lx *lexer) emit(text string, pos Pos) {
	col := pos.Col
	for text != "" {
		i := braceIndex(text)
		var part string
		switch {
		case i < 0:
			part, text = text, ""
		case i == 0:
			part, text = text[:1], text[1:]
		default:
			part, text = text[:i], text[i:]
		}
		trimmed := strings.TrimLeft(part, " \t")
		lineCol := col + len(part) - len(trimmed)
		col += len(part)
		if lead := len(text) - len(strings.TrimLeft(text, " \t")); lead > 0 {
			col += lead
			text = text[lead:]
		}
		trimmed = strings.TrimRight(trimmed, " \t")
		if trimmed == "" {
			continue
		}
		lx.tokenize(trimmed, Pos{File: pos.File, Line: pos.Line, Col: lineCol})
	}
}

func braceIndex(s string) int {
	quote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quote = !quote
		case '{', '}':
			if !quote {
				return i
			}
		}
	}
	return -1
}

// tokenize splits on blanks; a token starting with '"' runs to the next '"'.
func (lx *lexer) tokenize(s string, pos Pos) {
	if cap(lx.arena)-len(lx.arena) < 64 {
		lx.arena = make([]Token, 0, 4096)
	}
	start0 := len(lx.arena)
	toks := lx.arena[start0:start0]
	raw := ""
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		if len(toks) == 1 && raw == "" {
			raw = s[i:]
		}
		start := i
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				// The line is dropped: guessing where the string ends would only
				// produce follow-on errors.
				lx.d.errorf(Pos{File: pos.File, Line: pos.Line, Col: pos.Col + i}, "unterminated quoted string")
				return
			}
			toks = append(toks, Token{Text: s[i+1 : i+1+j], Col: pos.Col + start, Quoted: true})
			i += j + 2
			continue
		}
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '"' {
			i++
		}
		toks = append(toks, Token{Text: s[start:i], Col: pos.Col + start})
	}
	if len(toks) == 0 {
		return
	}
	if len(toks) <= cap(lx.arena)-start0 {
		// The tokens were appended in place inside the arena; claim them.
		lx.arena = lx.arena[:start0+len(toks)]
		toks = toks[:len(toks):len(toks)]
	}
	pos.Col = toks[0].Col
	if toks[0].Text == "include_check" && !toks[0].Quoted && lx.tree.inGlobalDefs() {
		lx.setIncludeCheck(toks[1:], pos)
	}
	lx.tree.add(pos, toks, raw)
}

// includeChecks are the checks an include line makes beyond reading its files: those
// of the includem/includew/includeb variants, and of include_check.
type includeChecks uint8

const (
	includeMatch    includeChecks = 1 << iota // a file named must exist
	includeWildcard                           // a wildcard pattern must match a file
	includeBrace                              // every {a,b} alternative must match
	includeAll      = includeMatch | includeWildcard | includeBrace
)

// setIncludeCheck applies "include_check [TYPE] [+TYPE|-TYPE …]" as keepalived does: a
// plain type replaces the setting, +/- add or remove one, nothing at all sets every
// check. "read" is accepted: govs always fails on a file it cannot read.
func (lx *lexer) setIncludeCheck(args []Token, pos Pos) {
	if len(args) == 0 {
		lx.includeCheck = includeAll
		return
	}
	types := map[string]includeChecks{"read": 0, "match": includeMatch, "wildcard_match": includeWildcard, "brace_match": includeBrace}
	for i, a := range args {
		word, sign := a.Text, byte(0)
		if word != "" && (word[0] == '+' || word[0] == '-') {
			word, sign = word[1:], word[0]
		} else if i > 0 {
			lx.d.errorf(Pos{File: pos.File, Line: pos.Line, Col: a.Col}, "duplicate include_check %q: only the first type may be given without + or -; ignored", a.Text)
			continue
		}
		c, ok := types[word]
		if !ok {
			lx.d.errorf(Pos{File: pos.File, Line: pos.Line, Col: a.Col}, "unknown include_check type %q: want read, match, wildcard_match or brace_match; ignored", word)
			continue
		}
		switch sign {
		case 0:
			lx.includeCheck = c
		case '+':
			lx.includeCheck |= c
		default:
			lx.includeCheck &^= c
		}
	}
}
