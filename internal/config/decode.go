package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// decoder walks the generic tree with the schema and fills the typed model.
type decoder struct{ d *diagSink }

func decodeConfig(root *Node, d *diagSink) *Config {
	cfg := &Config{}
	dc := &decoder{d: d}
	dc.block(rootBlock, root, reflect.ValueOf(cfg).Elem(), false)
	if !cfg.IsSet("global_defs") {
		// No global_defs block: its defaults still apply.
		dc.block(globalDefsBlock, &Node{}, reflect.ValueOf(&cfg.Global).Elem(), false)
	}
	return cfg
}

// block decodes the lines inside node n, described by spec, into dst (a struct value).
// dst is invalid for blocks govs ignores: their lines are still checked. silent
// suppresses "not supported" warnings inside a block already reported as unsupported.
func (dc *decoder) block(spec *blockSpec, n *Node, dst reflect.Value, silent bool) {
	var fi *fieldIndex
	var src *Source
	if dst.IsValid() {
		fi = indexFields(dst.Type())
		if fi.source >= 0 {
			src = dst.Field(fi.source).Addr().Interface().(*Source)
			src.Pos = n.Pos
		}
	}
	if spec.entries != nil {
		var field reflect.Value
		if dst.IsValid() {
			field = dst.FieldByName("Entries")
		}
		dc.entries(n, *spec.entries, field)
		return
	}
	for _, c := range n.Children {
		if c.Keyword == "" {
			continue
		}
		k := spec.lookup(c.Keyword)
		if k == nil {
			dc.unknown(spec, c)
			continue
		}
		if contains(k.deprecated, c.Keyword) {
			if c.Keyword != k.name {
				dc.d.warnf(c.Pos, "%s is deprecated; use %s", c.Keyword, k.name)
			} else {
				dc.d.warnf(c.Pos, "%s is deprecated", c.Keyword)
			}
		}
		unsupported := silent || k.status == Unsupported
		if k.status != Implemented && !silent {
			dc.d.notice(c.Pos, "%s is not supported by govs yet; ignored", c.Keyword)
		}
		var field reflect.Value
		if fi != nil && k.status != Unsupported {
			idx, ok := fi.byKeyword[k.name]
			if !ok {
				panic(fmt.Sprintf("config: model %s has no field for keyword %s", dst.Type(), k.name))
			}
			field = dst.Field(idx)
		}
		if src != nil && !k.repeat && src.IsSet(k.name) {
			dc.d.warnf(c.Pos, "%s is set again (first at line %d); the later value wins", c.Keyword, src.Line(k.name).Line)
		}
		switch {
		case k.block != nil:
			dc.subBlock(k, c, field, unsupported)
		case k.kind.entry != nil:
			if !c.Block {
				dc.d.errorf(c.Pos, "%s needs a { } block of entries", c.Keyword)
				continue
			}
			if len(c.Args) > 0 {
				dc.d.warnf(c.ArgPos(0), "%s: arguments before '{' are ignored", c.Keyword)
			}
			dc.entries(c, k.kind, field)
		default:
			dc.inline(k, c, field)
		}
		// A keyword with a bad value still counts as set: it was reported, and no
		// "missing" or "defaulting" diagnostic should follow it.
		if src != nil && field.IsValid() {
			src.mark(k.name, c.Pos)
		}
	}
	if src == nil {
		return
	}
	for _, k := range spec.unsetRules {
		if src.IsSet(k.name) {
			continue
		}
		if k.required {
			dc.d.errorf(n.Pos, "%s has no %s (required)", describeBlock(n), k.name)
			continue
		}
		if k.dfltValue != nil {
			assign(dst.Field(fi.byKeyword[k.name]), k.dfltValue)
		}
	}
}

// describeBlock names a block for messages: its keyword and arguments.
func describeBlock(n *Node) string {
	parts := []string{n.Keyword}
	for _, a := range n.Args {
		parts = append(parts, a.Text)
	}
	return strings.Join(parts, " ")
}

func (dc *decoder) subBlock(k *keywordSpec, c *Node, field reflect.Value, silent bool) {
	if !c.Block {
		dc.d.errorf(c.Pos, "%s needs a { } block", c.Keyword)
		return
	}
	var val reflect.Value
	var dst any
	if field.IsValid() && k.block.newValue != nil {
		dst = k.block.newValue()
		val = reflect.ValueOf(dst)
	}
	attach := true
	if err := k.block.header(dst, c.Keyword, c.Args); err != nil {
		dc.argError(c.Keyword, c, c.Args, err)
		attach = false
	}
	var elem reflect.Value
	if val.IsValid() {
		elem = val.Elem()
	}
	dc.block(k.block, c, elem, silent)
	if attach && val.IsValid() {
		assign(field, val.Interface())
	}
}

// inline decodes a keyword whose value is on its own line.
func (dc *decoder) inline(k *keywordSpec, c *Node, field reflect.Value) {
	if c.Block {
		dc.d.errorf(c.BlockPos, "%s does not take a { } block", c.Keyword)
		return
	}
	args := c.Args
	if len(args) < k.kind.minArgs {
		dc.d.errorf(c.Pos, "%s needs a value (%s)", c.Keyword, k.kind.doc)
		return
	}
	if k.kind.maxArgs >= 0 && len(args) > k.kind.maxArgs {
		dc.d.warnf(c.ArgPos(k.kind.maxArgs), "%s: extra arguments ignored: %s", c.Keyword, strings.Join(texts(args[k.kind.maxArgs:]), " "))
		args = args[:k.kind.maxArgs]
	}
	v, err := k.kind.parse(args, c.Raw)
	if err != nil {
		dc.argError(c.Keyword, c, args, err)
		return
	}
	if field.IsValid() {
		assign(field, v)
	}
}

// entries decodes every line of a value block with the entry kind, appending to field.
func (dc *decoder) entries(n *Node, k kind, field reflect.Value) {
	for _, e := range n.Children {
		if e.Keyword == "" {
			continue
		}
		if e.Block {
			dc.d.errorf(e.BlockPos, "%s: an entry cannot open a { } block", n.Keyword)
			continue
		}
		toks := make([]Token, 0, len(e.Args)+1)
		toks = append(toks, Token{Text: e.Keyword, Col: e.Pos.Col})
		toks = append(toks, e.Args...)
		v, err := k.entry(toks)
		if err != nil {
			dc.argError(n.Keyword, e, toks, err)
			continue
		}
		if !field.IsValid() {
			continue
		}
		rv := reflect.ValueOf(v)
		if rv.Type() == field.Type() {
			// A line of several entries (group { VI_1 VI_2 }): keepalived reads
			// every word of a value block as one value.
			field.Set(reflect.AppendSlice(field, rv))
			continue
		}
		if rv.Kind() == reflect.Struct {
			cp := reflect.New(rv.Type()).Elem()
			cp.Set(rv)
			if p := cp.FieldByName("Pos"); p.IsValid() {
				p.Set(reflect.ValueOf(e.Pos))
			}
			rv = cp
		}
		assign(field, rv.Interface())
	}
}

// argError reports a bad value at the argument it names, prefixed with label (the
// keyword, or the value block an entry belongs to).
func (dc *decoder) argError(label string, n *Node, toks []Token, err error) {
	pos := n.Pos
	var ae *argError
	if errors.As(err, &ae) && ae.arg >= 0 && ae.arg < len(toks) {
		pos.Col = toks[ae.arg].Col
	}
	dc.d.errorf(pos, "%s: %v", label, err)
}

// unknown reports a keyword the block does not take, with the likeliest fix.
func (dc *decoder) unknown(spec *blockSpec, c *Node) {
	if !isKeywordToken(c.Keyword) {
		dc.d.errorf(c.Pos, "%q is not a keyword (in %s); is this a keepalived configuration?", c.Keyword, spec.name)
		return
	}
	var hints []string
	if s, ok := closest(c.Keyword, spec.names()); ok {
		hints = append(hints, fmt.Sprintf("did you mean %q?", s))
	} else if target := aliasTarget(c.Keyword, spec); target != "" {
		hints = append(hints, fmt.Sprintf("did you mean %q?", target))
	}
	if homes := keywordHome[c.Keyword]; len(homes) > 0 {
		hints = append(hints, "it belongs in "+strings.Join(homes, ", "))
	}
	if spec.hint != "" {
		hints = append(hints, spec.hint)
	}
	msg := fmt.Sprintf("unknown keyword %q in %s; ignored", c.Keyword, spec.name)
	if len(hints) > 0 {
		msg += " (" + strings.Join(hints, "; ") + ")"
	}
	dc.d.warnf(c.Pos, "%s", msg)
}

// aliasTarget finds a keyword of spec that word is an alias of in some other block
// (nb_get_retry in TCP_CHECK means retry).
func aliasTarget(word string, spec *blockSpec) string {
	for _, k := range allKeywordSpecs {
		if contains(k.aliases, word) && spec.lookup(k.name) != nil {
			return k.name
		}
	}
	return ""
}

var allKeywordSpecs = func() []*keywordSpec {
	var out []*keywordSpec
	seen := map[*blockSpec]bool{}
	var walk func(b *blockSpec)
	walk = func(b *blockSpec) {
		if seen[b] {
			return
		}
		seen[b] = true
		for _, k := range b.keywords {
			out = append(out, k)
			if k.block != nil {
				walk(k.block)
			}
		}
	}
	walk(rootBlock)
	return out
}()

func isKeywordToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) && s[i] != '-' {
			return false
		}
	}
	return s != ""
}

// assign stores a decoded value: set, append to a slice, or point to it.
func assign(f reflect.Value, v any) {
	rv := reflect.ValueOf(v)
	ft := f.Type()
	switch {
	case rv.Type().AssignableTo(ft):
		f.Set(rv)
	case ft.Kind() == reflect.Slice && rv.Type().AssignableTo(ft.Elem()):
		f.Set(reflect.Append(f, rv))
	case ft.Kind() == reflect.Slice && rv.Kind() == reflect.String && ft.Elem().Kind() == reflect.String:
		f.Set(reflect.Append(f, rv.Convert(ft.Elem())))
	case ft.Kind() == reflect.Pointer && rv.Type().AssignableTo(ft.Elem()):
		p := reflect.New(ft.Elem())
		p.Elem().Set(rv)
		f.Set(p)
	case rv.Kind() == reflect.Pointer && rv.Elem().Type().AssignableTo(ft):
		f.Set(rv.Elem())
	case ft.Kind() == reflect.String && rv.Kind() == reflect.String:
		f.SetString(rv.String())
	default:
		panic(fmt.Sprintf("config: cannot store %s in a field of type %s", rv.Type(), ft))
	}
}
