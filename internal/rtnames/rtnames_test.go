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
