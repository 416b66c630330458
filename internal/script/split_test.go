package script

import (
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "/bin/check.sh", want: []string{"/bin/check.sh"}},
		{in: "  /bin/x   a\tb  ", want: []string{"/bin/x", "a", "b"}},
		{in: `/bin/x "a b" 'c d'`, want: []string{"/bin/x", "a b", "c d"}},
		{in: `/bin/x "say \"hi\"" 'it''s'`, want: []string{"/bin/x", `say "hi"`, "its"}},
		{in: `/bin/x a\ b \'`, want: []string{"/bin/x", "a b", "'"}},
		{in: `/bin/x "" ''`, want: []string{"/bin/x", "", ""}},
		{in: `/bin/x >/dev/null | y`, want: []string{"/bin/x", ">/dev/null", "|", "y"}},
		{in: `/bin/x "a`, wantErr: "unterminated \" quote at offset 7"},
		{in: `/bin/x 'a`, wantErr: "unterminated ' quote at offset 7"},
		{in: `/bin/x \`, wantErr: "trailing backslash at offset 7"},
		{in: "   ", wantErr: "empty"},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Split(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// quoteWord quotes one argument so Split gives it back unchanged.
func quoteWord(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func TestSplitRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		argv := rapid.SliceOfN(rapid.String(), 1, 6).Draw(t, "argv")
		quoted := make([]string, len(argv))
		for i, w := range argv {
			quoted[i] = quoteWord(w)
		}
		got, err := Split(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(got, argv) {
			t.Fatalf("Split(join(quote(%q))) = %q, %v", argv, got, err)
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"/bin/x a b", `"a b" 'c'`, `a\ b`, `"unterminated`, `\`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := Split(s)
		if err != nil {
			return
		}
		if len(argv) == 0 {
			t.Fatalf("Split(%q) returned no words and no error", s)
		}
		// Quoting the result and splitting again must be stable.
		quoted := make([]string, len(argv))
		for i, w := range argv {
			quoted[i] = quoteWord(w)
		}
		again, err := Split(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, argv) {
			t.Fatalf("re-split of %q = %q, %v", argv, again, err)
		}
	})
}
