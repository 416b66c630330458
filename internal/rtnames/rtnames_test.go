package rtnames

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rt_tables", "# reserved\n255\tlocal\n254 main\n100 isp1 # comment\n300000 big\n")
	write("rt_tables.d/extra.conf", "200 isp2\n")
	write("rt_dsfield", "0x28\tAF11\n")
	write("rt_protos", "300 toolarge\n")
	protocols := filepath.Join(dir, "protocols")
	write("protocols", "tcp\t6\tTCP\t# transmission\nudp 17 UDP\n")
	ipProto := IPProto
	ipProto.file = protocols
	for _, tc := range []struct {
		k       Kind
		name    string
		want    uint32
		wantErr string
	}{
		{Table, "isp1", 100, ""},
		{Table, "isp2", 200, ""},
		{Table, "big", 300000, ""},
		{Table, "main", 254, ""},
		{Table, "default", 253, ""}, // built in
		{Table, "1000", 1000, ""},
		{Table, "isp3", 0, `routing table "isp3" is neither a number nor a name in ` + filepath.Join(dir, "rt_tables")},
		{DSField, "AF11", 0x28, ""},
		{DSField, "0x10", 0x10, ""},
		{DSField, "256", 0, "above 255"},
		{Protocol, "keepalived", 18, ""},
		{Protocol, "toolarge", 0, "neither"},
		{Realm, "cosmos", 0, ""},
		{ipProto, "TCP", 6, ""},
		{ipProto, "udp", 17, ""},
		{ipProto, "sctp", 132, ""},
		{ipProto, "17", 17, ""},
	} {
		got, err := Lookup(dir, tc.k, tc.name)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s %q: error %v, want %q", tc.k.what, tc.name, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s %q: %d, %v; want %d", tc.k.what, tc.name, got, err, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "group"), []byte("0 default\n5 web # front\n5 alias\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k    Kind
		v    uint32
		want string
	}{
		{Group, 5, "web"}, // the first of two names
		{Group, 0, "default"},
		{Group, 6, "6"},
		{Protocol, 18, "keepalived"}, // built in, no file
	} {
		if got := Name(dir, tc.k, tc.v); got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.k.what, tc.v, got, tc.want)
		}
	}
}

// FuzzLookup: any file and any name give a value within the kind's range or an error,
// never a panic.
func FuzzLookup(f *testing.F) {
	f.Add("100 isp1\n# c\n0x10\tx y\n", "isp1")
	f.Add("tcp 6 TCP\n", "TCP")
	f.Add("", "0x20")
	f.Fuzz(func(t *testing.T, file, name string) {
		dir := t.TempDir()
		for _, k := range []Kind{Table, Protocol, DSField, Realm, Group, IPProto} {
			k.file = "names"
			if err := os.WriteFile(filepath.Join(dir, "names"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := Lookup(dir, k, name)
			if err == nil && uint64(v) > k.max {
				t.Fatalf("%s %q: %d above %d", k.what, name, v, k.max)
			}
		}
	})
}
