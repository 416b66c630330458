package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Options controls parsing. The zero value parses with no config id, no interface
// check, and the default limits.
type Options struct {
	// ConfigID selects "@ID" conditional lines and is ${_INSTANCE}. keepalived uses the
	// short host name unless -i is given; Load does the same when it is empty, Parse
	// (which does no I/O) leaves it empty, so that no "@ID" line matches.
	ConfigID string
	// Strict turns every warning into an error (govs check --strict).
	Strict bool
	// InterfaceExists, when set, is asked about every interface the file names; a
	// missing one is a warning (configurations are often checked on another host).
	InterfaceExists func(name string) bool
	// FS resolves include directives for Parse. Nil means includes cannot be read and
	// each is reported. Names are slash-separated; a leading '/' is ignored.
	FS fs.FS
	// AllIncludes makes every include line fail when it names a missing file or its
	// patterns match nothing, as if it were includea (keepalived -e, --all-config).
	AllIncludes bool
	// RandomSeed seeds ${_RANDOM} unless the file sets random_seed; a caller that
	// wants keepalived's default (other values at each start) passes a new one each
	// time, a test a fixed one.
	RandomSeed int64
	// Limits bound the work a hostile or broken input can cause.
	Limits Limits
}

// Limits bound what one parse may read and generate; every limit reached is an error.
// Zero fields take the defaults shown.
type Limits struct {
	MaxBytes        int // bytes read from all files [64 MiB]
	MaxLines        int // lines processed, including ~SEQ/~LST and parameter output [2,000,000]
	MaxLineBytes    int // length of one line after parameter expansion [64 KiB]
	MaxExpansions   int // parameter replacements on one line [10,000]
	MaxExpandDepth  int // nesting of loops and multi-line parameters [32]
	MaxIncludeDepth int // nesting of include files [32]
	MaxBlockDepth   int // nesting of { } blocks [32]
}

func (l Limits) withDefaults() Limits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.MaxBytes, 64<<20)
	set(&l.MaxLines, 2_000_000)
	set(&l.MaxLineBytes, 64<<10)
	set(&l.MaxExpansions, 10_000)
	set(&l.MaxExpandDepth, 32)
	set(&l.MaxIncludeDepth, 32)
	set(&l.MaxBlockDepth, 32)
	return l
}

// DefaultPath is where keepalived (and govs) look for the configuration.
const DefaultPath = "/etc/keepalived/keepalived.conf"

// Parse reads a configuration from src, named name in diagnostics. Includes are read
// from opts.FS. Parse does no other I/O.
func Parse(name string, src []byte, opts Options) (*Config, Diagnostics) {
	return run(name, opts, fsSource{opts.FS}, src)
}

// Load reads the configuration file at path and the files it includes. When
// opts.ConfigID is empty it is set to the short host name, as keepalived does.
func Load(path string, opts Options) (*Config, Diagnostics) {
	if opts.ConfigID == "" {
		opts.ConfigID = DefaultConfigID()
	}
	return run(path, opts, osSource{}, nil)
}

// DefaultConfigID returns the host name up to its first dot, keepalived's default id.
func DefaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	if i := strings.IndexByte(h, '.'); i >= 0 {
		h = h[:i]
	}
	return h
}

func run(name string, opts Options, src fileSource, data []byte) (*Config, Diagnostics) {
	cfg, d, usedRandom := parseOnce(name, &opts, src, data)
	// random_seed is only known once the file is read; as in keepalived's children,
	// which parse after it was seen, it seeds the ${_RANDOM}s of the whole file.
	if seed := cfg.Global.RandomSeed; seed != nil && usedRandom && int64(*seed) != opts.RandomSeed {
		opts.RandomSeed = int64(*seed)
		cfg, d, _ = parseOnce(name, &opts, src, data)
	}
	return cfg, d.result(opts.Strict)
}

func parseOnce(name string, opts *Options, src fileSource, data []byte) (*Config, *diagSink, bool) {
	d := &diagSink{}
	lx := newLexer(opts, src, d)
	if data == nil {
		lx.readFile(name, Pos{File: name}, true)
	} else if len(data) > lx.lim.MaxBytes {
		lx.stop(Pos{File: name}, "%s: configuration larger than %d bytes", name, lx.lim.MaxBytes)
	} else {
		lx.bytes = len(data)
		lx.lexFile(name, string(data))
	}
	root := lx.tree.finish(d)
	cfg := decodeConfig(root, d)
	finish(cfg, opts, d)
	return cfg, d, lx.usedRandom
}

// result sorts the diagnostics and applies --strict.
func (s *diagSink) result(strict bool) Diagnostics {
	if s.dropped > 0 {
		s.list = append(s.list, Diagnostic{Severity: Error, Message: fmt.Sprintf("%d more diagnostics not shown", s.dropped)})
	}
	if strict {
		for i := range s.list {
			s.list[i].Severity = Error
		}
	}
	s.list.sortByPos()
	return s.list
}

// fileSource is where files come from: an fs.FS for Parse, the OS for Load.
type fileSource interface {
	// read returns the file's content, or errTooBig if it has more than limit bytes.
	read(name string, limit int) (string, error)
	glob(pattern string) ([]string, error)
}

var errTooBig = errors.New("file too large")

func errorsIsTooBig(err error) bool   { return errors.Is(err, errTooBig) }
func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readLimited reads r to its end, or returns errTooBig past limit bytes. sizeHint, the
// file's size when known, lets a large file be read into one allocation that becomes
// the string the lexer takes, with no copy.
func readLimited(r io.Reader, limit int, sizeHint int64) (string, error) {
	if limit < 0 {
		limit = 0
	}
	var b strings.Builder
	if sizeHint > 0 && sizeHint <= int64(limit) {
		b.Grow(int(sizeHint))
	}
	if _, err := io.Copy(&b, io.LimitReader(r, int64(limit)+1)); err != nil {
		return "", err
	}
	if b.Len() > limit {
		return "", errTooBig
	}
	return b.String(), nil
}

type fsSource struct{ fsys fs.FS }

func fsName(name string) string {
	n := path.Clean("/" + name)[1:]
	if n == "" {
		return "."
	}
	return n
}

func (s fsSource) read(name string, limit int) (string, error) {
	if s.fsys == nil {
		return "", errors.New("no file system given to read includes from")
	}
	f, err := s.fsys.Open(fsName(name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return readLimited(f, limit, size)
}

func (s fsSource) glob(pattern string) ([]string, error) {
	if s.fsys == nil {
		return nil, nil
	}
	m, err := fs.Glob(s.fsys, fsName(pattern))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(pattern, "/") {
		for i := range m {
			m[i] = "/" + m[i]
		}
	}
	return m, nil
}

type osSource struct{}

func (osSource) read(name string, limit int) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return "", errors.New("is a directory")
		}
		size = st.Size()
	}
	return readLimited(f, limit, size)
}

func (osSource) glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// include handles "include PATTERN" and its checked variants includer (readable),
// includem (must match), includew (wildcards must match), includeb (brace alternatives
// must match) and includea (all). Relative patterns resolve against the directory of
// the including file. It reports whether text was an include line.
func (lx *lexer) include(text string, pos Pos) bool {
	if !strings.HasPrefix(text, "include") || len(text) < 9 {
		return false
	}
	var variant byte
	rest := text[7:]
	if rest[0] != ' ' && rest[0] != '\t' {
		if !strings.ContainsRune("rmwba", rune(rest[0])) || (rest[1] != ' ' && rest[1] != '\t') {
			return false
		}
		variant = rest[0]
		rest = rest[1:]
	}
	pattern := strings.TrimSpace(rest)
	check := lx.includeCheck | map[byte]includeChecks{'m': includeMatch, 'w': includeMatch | includeWildcard, 'b': includeBrace, 'a': includeAll}[variant]
	mustMatch := check&includeMatch != 0
	wildMustMatch := check&includeWildcard != 0
	braceMustMatch := check&includeBrace != 0
	if !path.IsAbs(pattern) {
		pattern = path.Join(path.Dir(lx.currentFile()), pattern)
	}
	alts := expandBraces(pattern, 256)
	braced := len(alts) > 1
	var files []string
	for _, alt := range alts {
		if !hasGlobMeta(alt) {
			files = append(files, alt)
			continue
		}
		m, err := lx.src.glob(alt)
		if err != nil {
			lx.d.includeErrorf(pos, "include %q: bad pattern: %v", alt, err)
			continue
		}
		if len(m) == 0 {
			// keepalived: an empty wildcard fails only under wildcard_match, or under
			// match when a directory it names is missing.
			dir := alt[:strings.LastIndexByte(alt[:strings.IndexAny(alt, "*?[")], '/')+1]
			switch {
			case wildMustMatch:
				lx.d.includeErrorf(pos, "include %q matches no files", alt)
			case mustMatch && dir != "/" && !lx.exists(strings.TrimSuffix(dir, "/")):
				lx.d.includeErrorf(pos, "include %q: directory %s does not exist", alt, dir)
			default:
				lx.d.notice(pos, "include %q matches no files", alt)
			}
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	for _, f := range files {
		if lx.stopped {
			break
		}
		lx.readFile(f, pos, mustMatch || (braceMustMatch && braced))
	}
	return true
}

// exists reports whether name exists (a pattern without wildcards matches only itself).
func (lx *lexer) exists(name string) bool {
	m, err := lx.src.glob(name)
	return err == nil && len(m) > 0
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// expandBraces expands csh-style {a,b} alternatives, at most limit results.
func expandBraces(s string, limit int) []string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return []string{s}
	}
	depth := 0
	closeAt := -1
	var commas []int
	for i := open; i < len(s) && closeAt < 0; i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				closeAt = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if closeAt < 0 || len(commas) == 0 {
		return []string{s}
	}
	var out []string
	prev := open + 1
	for _, c := range append(commas, closeAt) {
		alt := s[:open] + s[prev:c] + s[closeAt+1:]
		for _, e := range expandBraces(alt, limit-len(out)) {
			if len(out) >= limit {
				return out
			}
			out = append(out, e)
		}
		prev = c + 1
	}
	return out
}
