package script

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/govs/govs/internal/testutil"
)

func TestSecurityApply(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedRoot(t)
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	safeDir := filepath.Join(base, "safe")
	openDir := filepath.Join(base, "open")
	for _, d := range []string{safeDir, openDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(openDir, 0o777); err != nil { // world-writable, not sticky
		t.Fatal(err)
	}
	safe := writeScript(t, safeDir, "ok.sh", "exit 0")
	inOpen := writeScript(t, openDir, "ok.sh", "exit 0")
	worldWritable := writeScript(t, safeDir, "ww.sh", "exit 0")
	if err := os.Chmod(worldWritable, 0o777); err != nil {
		t.Fatal(err)
	}
	notOwned := writeScript(t, safeDir, "nobody.sh", "exit 0")
	if err := os.Chown(notOwned, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// Whether the temp root's own ancestors are safe depends on the host; only test
	// what is under our control when they are.
	if p, err := unsafePrefix(base); err != nil || p != "" {
		t.Skipf("temporary directory %s has an unsafe ancestor %q", base, p)
	}

	tests := []struct {
		name    string
		sec     Security
		spec    Spec
		wantErr error
		user    string
	}{
		{"safe as root", Security{Enabled: true}, Spec{Argv: []string{safe}, User: "root"}, nil, "root"},
		{"dir writable by others", Security{Enabled: true}, Spec{Argv: []string{inOpen}, User: "root"}, ErrInsecure, ""},
		{"file world-writable", Security{Enabled: true}, Spec{Argv: []string{worldWritable}, User: "root"}, ErrInsecure, ""},
		{"file not owned by root", Security{Enabled: true}, Spec{Argv: []string{notOwned}, User: "root"}, ErrInsecure, ""},
		{"unsafe but security off: runs with a warning", Security{}, Spec{Argv: []string{inOpen}, User: "root"}, nil, "root"},
		{"unsafe but run as nobody: allowed", Security{Enabled: true}, Spec{Argv: []string{inOpen}, User: "nobody"}, nil, "nobody"},
		{"default user applies", Security{Enabled: true, DefaultUser: "nobody"}, Spec{Argv: []string{inOpen}}, nil, "nobody"},
		{"missing script", Security{Enabled: true}, Spec{Argv: []string{filepath.Join(safeDir, "none")}}, ErrNotFound, ""},
		{"path search resolves", Security{Enabled: true}, Spec{Argv: []string{"true"}, User: "root"}, nil, "root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sec.Apply(tt.spec, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if got.User != tt.user {
					t.Errorf("User = %q, want %q", got.User, tt.user)
				}
				if !filepath.IsAbs(got.Argv[0]) {
					t.Errorf("Argv[0] = %q, want an absolute path", got.Argv[0])
				}
			}
		})
	}
}
