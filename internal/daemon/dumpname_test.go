package daemon

import "testing"

// TestDumpNames: data_use_instance names the dump files as keepalived's open_dump_file
// does: the namespace, then the instance, before the extension.
func TestDumpNames(t *testing.T) {
	for _, tt := range []struct {
		conf, want string
	}{
		{"global_defs {\n}\n", "/tmp/govs.data"},
		{"instance blue\n", "/tmp/govs.data"}, // without data_use_instance
		{"instance blue\nglobal_defs {\n data_use_instance\n}\n", "/tmp/govs.blue.data"},
		{"net_namespace ns1\nglobal_defs {\n data_use_instance\n}\n", "/tmp/govs.ns1.data"},
		{"net_namespace ns1\ninstance blue\nglobal_defs {\n data_use_instance true\n}\n", "/tmp/govs.ns1_blue.data"},
		{"instance blue\nglobal_defs {\n data_use_instance false\n}\n", "/tmp/govs.data"},
	} {
		p, err := NewPlan(parse(t, tt.conf))
		if err != nil {
			t.Fatal(err)
		}
		if got := withSuffix("/tmp/"+DataFileName, p.DumpSuffix); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.conf, got, tt.want)
		}
	}
	if got := withSuffix("/var/lib/govs/dump", "x"); got != "/var/lib/govs/dump.x" {
		t.Errorf("a file without an extension: %s", got)
	}
}

// TestTmpFile: files named without a directory go under $TMPDIR when it is absolute,
// else /tmp, as keepalived's tmp_dir.
func TestTmpFile(t *testing.T) {
	for _, tt := range []struct{ tmpdir, name, want string }{
		{"", "govs.data", "/tmp/govs.data"},
		{"/var/tmp/ka", "govs.data", "/var/tmp/ka/govs.data"},
		{"relative/dir", "govs.data", "/tmp/govs.data"},
		{"/var/tmp/ka", "/run/govs.data", "/run/govs.data"},
		{"/var/tmp/ka", "sub/govs.log", "/var/tmp/ka/sub/govs.log"},
	} {
		t.Setenv("TMPDIR", tt.tmpdir)
		if got := TmpFile(tt.name); got != tt.want {
			t.Errorf("TMPDIR=%q %q: %s, want %s", tt.tmpdir, tt.name, got, tt.want)
		}
	}
}

// TestIPVSNamespace: net_namespace_ipvs NAME is /run/netns/NAME, and without NAME the
// default namespace, PID 1's, as keepalived opens them.
func TestIPVSNamespace(t *testing.T) {
	for conf, want := range map[string]string{
		"global_defs {\n}\n":          "",
		"net_namespace_ipvs lvs\n":    "/run/netns/lvs",
		"net_namespace_ipvs\n":        "/proc/1/ns/net",
		"net_namespace_ipvs \"\"\n":   "/proc/1/ns/net",
		"net_namespace_ipvs blue-1\n": "/run/netns/blue-1",
	} {
		p, err := NewPlan(parse(t, conf))
		if err != nil {
			t.Fatal(err)
		}
		if p.IPVS.Namespace != want {
			t.Errorf("%q: %q, want %q", conf, p.IPVS.Namespace, want)
		}
	}
}
