package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestInitTrackFiles: init_file creates a missing file; an existing one is rewritten
// only with overwrite, never on a reload, and never when it is not a regular file.
func TestInitTrackFiles(t *testing.T) {
	for _, tc := range []struct {
		name      string
		existing  string // "" : none; "dir": a directory
		overwrite bool
		reload    bool
		want      string
	}{
		{"missing", "", false, false, "7\n"},
		{"missing on reload", "", false, true, "7\n"},
		{"kept", "3\n", false, false, "3\n"},
		{"overwritten", "3\n", true, false, "7\n"},
		{"not overwritten on reload", "3\n", true, true, "3\n"},
		{"directory left alone", "dir", true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			switch tc.existing {
			case "":
			case "dir":
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(path, []byte(tc.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			initTrackFiles([]trackFileInit{{name: "f", path: path, value: 7, overwrite: tc.overwrite}}, tc.reload, slog.New(slog.DiscardHandler))
			if tc.existing == "dir" {
				if st, err := os.Stat(path); err != nil || !st.IsDir() {
					t.Fatalf("the directory was touched: %v", err)
				}
				return
			}
			if b, _ := os.ReadFile(path); string(b) != tc.want {
				t.Errorf("file holds %q, want %q", b, tc.want)
			}
		})
	}
}
