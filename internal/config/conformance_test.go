package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/govs/govs/internal/testutil"
)

// sharedDir finds ../shared next to the module root, where conformance inputs live.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	_, err = os.Stat(filepath.Join(shared, "conformance"))
	testutil.Need(t, err == nil, "../shared/conformance is not next to the repository")
	return shared
}

// defectiveLines are the lines govs must report errors at in the samples INDEX.md calls
// defective (keepalived 2.2.7 reports them too).
var defectiveLines = map[string][]int{
	"keepalived.conf.vrrp.lvs_syncd":      {3},      // vrrp_sync_group members without group { }
	"keepalived.conf.vrrp.rules":          {11, 26}, // invalid address 192.168.100./24
	"keepalived.service.d.auth_hmac.conf": {30},     // a systemd drop-in, not a keepalived config
}

// TestConformanceSamples runs every sample INDEX.md lists: the ones keepalived 2.2.7
// accepts (possibly with warnings) must give no error, the defective ones must fail
// at the right lines.
func TestConformanceSamples(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "conformance", "keepalived-samples")
	index, err := os.ReadFile(filepath.Join(dir, "INDEX.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)`").FindAllStringSubmatch(string(index), -1)
	if len(rows) < 25 {
		t.Fatalf("INDEX.md lists %d samples; expected the whole table", len(rows))
	}
	defectivePara := regexp.MustCompile(`(?s)Defective samples.*?\n\n`).FindString(string(index))
	for _, row := range rows {
		name := row[1]
		wantLines, defective := defectiveLines[name]
		short := strings.TrimPrefix(name, "keepalived.conf.")
		listed := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(short) + `[\s(,]`).MatchString(defectivePara)
		if defective != listed {
			t.Errorf("%s: INDEX.md and this test disagree on whether it is defective", name)
		}
		ids := []string{""}
		if strings.Contains(name, "conditional_conf") {
			ids = []string{"", "high", "low"}
		}
		for _, id := range ids {
			t.Run(name+"/"+id, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				_, diags := Parse(name, data, Options{ConfigID: id, FS: os.DirFS(dir)})
				errs := diags.Errors()
				if !defective {
					if len(errs) > 0 {
						t.Errorf("keepalived accepts this sample; govs reports:\n%s", errs)
					}
					return
				}
				got := map[int]bool{}
				for _, e := range errs {
					got[e.Pos.Line] = true
				}
				for _, l := range wantLines {
					if !got[l] {
						t.Errorf("want an error at line %d; got:\n%s", l, diags)
					}
				}
			})
		}
	}
}
