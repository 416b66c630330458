package config

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzParse feeds arbitrary text through the whole reader. Whatever the input, Parse
// must return (no panic, no hang) within the limits; includes resolve against a small
// file system that contains a cycle.
func FuzzParse(f *testing.F) {
	if dir, err := os.Getwd(); err == nil {
		samples, _ := filepath.Glob(filepath.Join(dir, "..", "..", "..", "shared", "conformance", "keepalived-samples", "keepalived*"))
		for _, s := range samples {
			if data, err := os.ReadFile(s); err == nil {
				f.Add(data)
			}
		}
	}
	confs, _ := filepath.Glob(filepath.Join("testdata", "*", "*.conf"))
	for _, c := range confs {
		if data, err := os.ReadFile(c); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"~SEQ(A,1,100000) ~SEQ(B,1,100000) x $A $B\n",
		"$A=$A$A\n$A\n",
		"$M= \\\n$M \\\n\n$M\n",
		"include a.conf\n",
		"~LST({a,b},{1,2},{3}) $a $b\n",
		"a {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n",
		"@^x $V=${_RANDOM 1 5}\nvrrp_instance ${V} {\n}\n",
	} {
		f.Add([]byte(s))
	}
	fsys := fstest.MapFS{
		"a.conf": {Data: []byte("include b.conf\nvrrp_instance X {\n")},
		"b.conf": {Data: []byte("include a.conf\n}\n")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{ConfigID: "x", FS: fsys, Limits: Limits{
			MaxBytes: 1 << 20, MaxLines: 20000, MaxLineBytes: 4096, MaxExpansions: 500,
		}}
		cfg, diags := Parse("fuzz.conf", data, opts)
		if cfg == nil {
			t.Fatal("nil config")
		}
		_ = diags.String()
	})
}
