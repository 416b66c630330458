package config

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/config-reference.md")

// TestSchemaCoversKeywordTree checks every row of keepalived 2.2.7's keyword tree is
// in the schema, at the same place.
func TestSchemaCoversKeywordTree(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedDir(t), "conformance", "keepalived-2.2.7-keywords.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		path, keyword, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad row %q", line)
		}
		rows++
		b := rootBlock
		var parts []string
		if keyword == "(block)" {
			keyword = path
		} else {
			parts = strings.Split(path, " > ")
		}
		for _, p := range parts {
			k := b.lookup(p)
			if k == nil || k.block == nil {
				t.Errorf("%s: block %q is not in the schema", path, p)
				b = nil
				break
			}
			b = k.block
		}
		if b != nil && b.lookup(keyword) == nil {
			t.Errorf("%s: keyword %q is not in the schema", path, keyword)
		}
	}
	if rows < 500 {
		t.Errorf("read %d rows; the tree has 501", rows)
	}
}

// TestSchemaHasOnlyKeepalivedKeywords checks the other direction: every keyword of the
// schema is in keepalived 2.2.7's tree, unless it is marked as a govs extension.
func TestSchemaHasOnlyKeepalivedKeywords(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "conformance", "keepalived-2.2.7-keywords.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\n")
		if line != "" && !strings.HasPrefix(line, "#") {
			rows[line] = true
		}
	}
	extensions := 0
	seen := map[*blockSpec]bool{}
	var walk func(b *blockSpec, path string)
	walk = func(b *blockSpec, path string) {
		if seen[b] {
			return
		}
		seen[b] = true
		for _, k := range b.keywords {
			if k.extension {
				extensions++
				continue
			}
			for _, n := range append([]string{k.name}, k.aliases...) {
				row := path + "\t" + n
				if path == "" {
					row = n + "\t(block)"
				}
				if !rows[row] {
					t.Errorf("%q is not a keepalived 2.2.7 keyword; mark it ext() if govs adds it", strings.ReplaceAll(row, "\t", " "))
				}
			}
			if k.block != nil {
				p := k.name
				if path != "" {
					p = path + " > " + k.name
				}
				walk(k.block, p)
			}
		}
	}
	walk(rootBlock, "")
	if extensions < 5 {
		t.Errorf("found %d govs extensions; expected at least http_listen, http_listen_any, http_token, proxy_protocol, dynamic_feedback", extensions)
	}
}

// TestSchemaMatchesModel checks every implemented keyword has a model field to land
// in, and every default parses into it.
func TestSchemaMatchesModel(t *testing.T) {
	seen := map[*blockSpec]bool{}
	var walk func(b *blockSpec, typ reflect.Type, path string)
	walk = func(b *blockSpec, typ reflect.Type, path string) {
		if seen[b] {
			return
		}
		seen[b] = true
		fi := indexFields(typ)
		for _, k := range b.keywords {
			if k.status != Implemented {
				continue
			}
			idx, ok := fi.byKeyword[k.name]
			if !ok {
				t.Errorf("%s %s: no field tagged kw:%q in %s", path, k.name, k.name, typ)
				continue
			}
			if k.dfltValue != nil {
				assign(reflect.New(typ).Elem().Field(idx), k.dfltValue)
			}
			if k.block != nil && k.block.newValue != nil {
				walk(k.block, reflect.TypeOf(k.block.newValue()).Elem(), path+" > "+k.name)
			}
		}
	}
	walk(rootBlock, reflect.TypeOf(Config{}), "")
}

// TestReferenceDoc keeps docs/config-reference.md in step with the schema
// (go test ./internal/config -run TestReferenceDoc -update rewrites it).
func TestReferenceDoc(t *testing.T) {
	got := referenceDoc()
	path := filepath.Join("..", "..", "docs", "config-reference.md")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s is out of date with the schema; run go test ./internal/config -run TestReferenceDoc -update", path)
	}
}

// referenceDoc renders the schema as Markdown: every block, keyword, type, default
// and status.
func referenceDoc() string {
	var b strings.Builder
	b.WriteString("# keepalived.conf reference (govs)\n\n")
	b.WriteString("Generated from the schema in internal/config (schema_table.go) by\n")
	b.WriteString("`go test ./internal/config -run TestReferenceDoc -update`; do not edit by hand.\n\n")
	b.WriteString("Status: **implemented** keywords have keepalived's meaning; **warning-only** keywords are\n")
	b.WriteString("parsed and checked, then ignored with a warning naming the line. Deprecated spellings warn.\n")
	b.WriteString("Defaults in *italics* are computed (inherited or derived) rather than literal.\n")
	b.WriteString("Keywords marked **govs extension** are not keepalived's: keepalived rejects a file that uses them.\n")
	// Blocks shared by several parents (url, host) are listed under each of them.
	var walk func(bs *blockSpec, path string, status Status, extension bool)
	walk = func(bs *blockSpec, path string, status Status, extension bool) {
		heading := path
		if extension {
			heading += " (govs extension)"
		}
		fmt.Fprintf(&b, "\n## %s\n\n", heading)
		if bs.headerDoc != "" {
			fmt.Fprintf(&b, "Opening line: `%s %s {`\n\n", bs.name, bs.headerDoc)
		}
		if bs.entries != nil {
			fmt.Fprintf(&b, "Each line is an entry: `%s`\n\n", strings.Trim(bs.entries.doc, "{} …"))
		}
		if len(bs.keywords) == 0 {
			return
		}
		b.WriteString("| keyword | value | default | status | notes |\n|---|---|---|---|---|\n")
		var subs []*keywordSpec
		for _, k := range bs.keywords {
			name := "`" + k.name + "`"
			if len(k.aliases) > 0 {
				name += " (alias " + "`" + strings.Join(k.aliases, "`, `") + "`)"
			}
			def := k.dflt
			if def == "" && k.dfltDoc != "" {
				def = "*" + k.dfltDoc + "*"
			}
			st := k.status
			if status == Unsupported {
				st = Unsupported
			}
			var notes []string
			if k.extension {
				notes = append(notes, "**govs extension**")
			}
			if k.required {
				notes = append(notes, "required")
			}
			if k.repeat {
				notes = append(notes, "repeatable")
			}
			if len(k.deprecated) > 0 {
				notes = append(notes, "deprecated: "+strings.Join(k.deprecated, ", "))
			}
			if k.doc != "" {
				notes = append(notes, k.doc)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, strings.ReplaceAll(k.kind.doc, "|", "\\|"), def, st, strings.Join(notes, "; "))
			if k.block != nil {
				subs = append(subs, k)
			}
		}
		for _, k := range subs {
			st := status
			if k.status == Unsupported {
				st = Unsupported
			}
			p := k.name
			if path != rootBlock.name {
				p = path + " > " + k.name
			}
			walk(k.block, p, st, extension || k.extension)
		}
	}
	walk(rootBlock, rootBlock.name, Implemented, false)
	return b.String()
}
