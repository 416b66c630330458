package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Status says what govs does with a keyword it parses.
type Status int

const (
	// Implemented keywords have the meaning keepalived gives them.
	Implemented Status = iota
	// Unsupported keywords are parsed and checked, then ignored with a warning
	// naming the line: keepalived has them, govs does not act on them yet.
	Unsupported
	// NotApplied keywords are read into the model (their values are checked and
	// shown by govs check --dump) but nothing acts on them yet; like Unsupported,
	// each use gets a warning naming the line.
	NotApplied
)

// String returns "implemented" or "warning-only".
func (s Status) String() string {
	if s == Unsupported || s == NotApplied {
		return "warning-only"
	}
	return "implemented"
}

// keywordSpec is one keyword of one block: the single source for decoding, defaults,
// "did you mean", the reference documentation and the keyword coverage test.
type keywordSpec struct {
	name       string
	aliases    []string // other spellings keepalived accepts for the same setting
	deprecated []string // spellings (name or aliases) that warn as deprecated
	kind       kind
	block      *blockSpec // the keyword opens a block of keywords
	dflt       string     // literal default, parsed by kind and filled when absent
	dfltDoc    string     // default that is computed (documented only)
	status     Status
	repeat     bool // may appear more than once (each adds an entry)
	required   bool
	extension  bool // a govs extension: keepalived does not have the keyword
	doc        string
	dfltValue  any
}

// headerFunc parses the arguments of a block's opening line (vrrp_instance NAME,
// virtual_server IP PORT, …) into the new block value.
type headerFunc func(dst any, keyword string, args []Token) error

// blockSpec is a block: its keywords, or for a value block the type of its entries.
type blockSpec struct {
	name      string
	header    headerFunc
	headerDoc string
	newValue  func() any // a pointer to the model struct; nil for blocks govs ignores
	keywords  []*keywordSpec
	entries   *kind // a named value block: each line is an entry (virtual_server_group)
	hint      string
	byName    map[string]*keywordSpec
	// unsetRules are the implemented keywords that matter when a block leaves them
	// out (required, or with a default to fill), so that decoding a block looks at
	// those only rather than at every keyword of the schema.
	unsetRules []*keywordSpec
}

// lookup finds a keyword by name or alias.
func (b *blockSpec) lookup(name string) *keywordSpec { return b.byName[name] }

// names lists the keyword names and aliases of the block, for suggestions.
func (b *blockSpec) names() []string {
	var out []string
	for _, k := range b.keywords {
		out = append(out, k.name)
		out = append(out, k.aliases...)
	}
	return out
}

// Builders used by the schema table.

type kwOpt func(*keywordSpec)

func kw(name string, k kind, opts ...kwOpt) *keywordSpec {
	s := &keywordSpec{name: name, kind: k}
	for _, o := range opts {
		o(s)
	}
	return s
}

// unsup is a keyword keepalived has that govs parses and ignores with a warning.
func unsup(name string, k kind, opts ...kwOpt) *keywordSpec {
	return kw(name, k, append(opts, func(s *keywordSpec) { s.status = Unsupported })...)
}

func sub(name string, b *blockSpec, opts ...kwOpt) *keywordSpec {
	s := kw(name, kind{doc: "{ … }"}, opts...)
	s.block = b
	return s
}

func dflt(v string) kwOpt     { return func(s *keywordSpec) { s.dflt = v } }
func dfltDoc(v string) kwOpt  { return func(s *keywordSpec) { s.dfltDoc = v } }
func alias(a ...string) kwOpt { return func(s *keywordSpec) { s.aliases = append(s.aliases, a...) } }
func deprecated(a ...string) kwOpt {
	return func(s *keywordSpec) { s.deprecated = append(s.deprecated, a...) }
}
func repeat() kwOpt      { return func(s *keywordSpec) { s.repeat = true } }
func required() kwOpt    { return func(s *keywordSpec) { s.required = true } }
func doc(d string) kwOpt { return func(s *keywordSpec) { s.doc = d } }

// notApplied marks a keyword read into the model that nothing acts on yet.
func notApplied() kwOpt { return func(s *keywordSpec) { s.status = NotApplied } }

// ext marks a govs extension: a keyword keepalived does not have (keepalived would
// reject the file), listed as such in the reference.
func ext() kwOpt { return func(s *keywordSpec) { s.extension = true } }

func block(name string, newValue func() any, header headerFunc, headerDoc string, kws ...*keywordSpec) *blockSpec {
	return &blockSpec{name: name, newValue: newValue, header: header, headerDoc: headerDoc, keywords: kws}
}

// prepare indexes every block reachable from root and parses literal defaults; a
// mistake in the table panics at start-up (and in every test).
func prepare(root *blockSpec) {
	seen := map[*blockSpec]bool{}
	var walk func(b *blockSpec)
	walk = func(b *blockSpec) {
		if seen[b] {
			return
		}
		seen[b] = true
		b.byName = map[string]*keywordSpec{}
		for _, k := range b.keywords {
			for _, n := range append([]string{k.name}, k.aliases...) {
				if _, dup := b.byName[n]; dup {
					panic(fmt.Sprintf("config schema: %s: keyword %s twice", b.name, n))
				}
				b.byName[n] = k
			}
			if k.dflt != "" {
				var toks []Token
				for _, f := range strings.Fields(k.dflt) {
					toks = append(toks, Token{Text: f})
				}
				v, err := k.kind.parse(toks, k.dflt)
				if err != nil {
					panic(fmt.Sprintf("config schema: %s %s: bad default %q: %v", b.name, k.name, k.dflt, err))
				}
				k.dfltValue = v
			}
			if k.status == Implemented && (k.required || k.dfltValue != nil) {
				b.unsetRules = append(b.unsetRules, k)
			}
			if k.block != nil {
				walk(k.block)
			}
		}
	}
	walk(root)
}

// keywordHome maps every keyword name to the blocks that accept it, for the "belongs
// in another block" hint.
var keywordHome = map[string][]string{}

func indexHomes(root *blockSpec) {
	seen := map[*blockSpec]bool{}
	var walk func(b *blockSpec)
	walk = func(b *blockSpec) {
		if seen[b] {
			return
		}
		seen[b] = true
		for n := range b.byName {
			if !contains(keywordHome[n], b.name) {
				keywordHome[n] = append(keywordHome[n], b.name)
			}
		}
		for _, k := range b.keywords {
			if k.block != nil {
				walk(k.block)
			}
		}
	}
	walk(root)
	for n := range keywordHome {
		sort.Strings(keywordHome[n])
	}
}

// fieldIndex maps a model struct's kw tags to field indexes.
type fieldIndex struct {
	byKeyword map[string]int
	source    int // index of the embedded Source, -1 if none
	name      int // index of the Name field, -1 if none
}

var fieldIndexes = map[reflect.Type]*fieldIndex{}

// indexFields reads the kw tags of every model type once, at start-up.
func indexFields(t reflect.Type) *fieldIndex {
	if fi, ok := fieldIndexes[t]; ok {
		return fi
	}
	fi := &fieldIndex{byKeyword: map[string]int{}, source: -1, name: -1}
	fieldIndexes[t] = fi
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case f.Anonymous && f.Type == reflect.TypeOf(Source{}):
			fi.source = i
		case f.Name == "Name" && f.Tag.Get("kw") == "":
			fi.name = i
		}
		if tag := f.Tag.Get("kw"); tag != "" {
			for _, k := range strings.Split(tag, ",") {
				fi.byKeyword[k] = i
			}
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			indexFields(ft)
		}
	}
	return fi
}
