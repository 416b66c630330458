package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
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
		"vrrp_instance A {\n interface eth0\n virtual_router_id 9\n use_vmac v9 02:aa:bb:cc:dd:\n}\n",
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

// FuzzValueKinds runs every value parser of the schema, inline and entry kinds alike,
// on the same words: none may panic, and an accepted value must be what was meant.
func FuzzValueKinds(f *testing.F) {
	for _, s := range []string{
		"ops@example.com", "mail.example.com 587", "org.keepalived.Vrrp1", "2001:db8::1 25", "/run/k.fifo root wheel",
		"[::1]:9100", "0.0.0.0:80", "abc+/=", "50ms", "0.3", "10%", "1.5 s", "2 reverse",
		"NAT", "TUN type gue port 6080 csum", "200-299 404", "eth0 inst VI_1 id 3", "\"/bin/sh -c 'x'\" nobody", "IWGRP|IWOTH", "IRUSR | IXOTH", "0x1ff",
		"10.1.0.0/16 via 10.0.0.1 dev eth0 mtu lock 1400 rtt 2s nexthop via 10.0.0.2 weight 3 onlink",
		"from 10.0.0.0/8 fwmark 0x5/0xff not goto 200 preference 100 sport 1-2 uidrange 1-5",
	} {
		f.Add(s)
	}
	kinds := map[*keywordSpec]kind{} // by spec: "weight" has a kind per block
	for _, k := range allKeywordSpecs {
		kinds[k] = k.kind
	}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 512 {
			return
		}
		var toks []Token
		for _, w := range strings.Fields(line) {
			toks = append(toks, Token{Text: w})
		}
		for spec, k := range kinds {
			switch {
			case k.entry != nil && len(toks) > 0:
				_, _ = k.entry(toks)
			case k.parse != nil && len(toks) >= k.minArgs:
				args := toks
				if k.maxArgs >= 0 && len(args) > k.maxArgs {
					args = args[:k.maxArgs]
				}
				v, err := k.parse(args, line)
				if err == nil {
					checkParsedValue(t, spec.name, args, v)
				}
			}
		}
	})
}

// checkParsedValue checks invariants of accepted values of the mail and extension kinds.
func checkParsedValue(t *testing.T, keyword string, args []Token, v any) {
	switch keyword {
	case "notification_email_from":
		if v.(string) != args[0].Text || strings.ContainsAny(args[0].Text, " \t<>\r\n\"") {
			t.Errorf("%s accepted %q as %q", keyword, args[0].Text, v)
		}
	case "smtp_server":
		if hp := v.(*HostPort); hp.Port == 0 || hp.Host == "" {
			t.Errorf("%s accepted %q as %+v", keyword, texts(args), hp)
		}
	case "smoothing":
		if x := v.(float64); !(x > 0 && x <= 1) {
			t.Errorf("smoothing accepted %v", x)
		}
	case "agent_interval", "agent_timeout", "latency_target":
		if d := v.(time.Duration); d < 0 || d > maxTimer {
			t.Errorf("%s accepted %q as %v", keyword, args[0].Text, d)
		}
	case "umask":
		if m := v.(FileMask); m&^0o777 != 0 {
			t.Errorf("umask accepted %q as %o", texts(args), m)
		}
	case "http_token":
		if strings.ContainsAny(string(v.(Secret)), " \t\r\n\"") {
			t.Errorf("http_token accepted %q", v)
		}
	}
}
