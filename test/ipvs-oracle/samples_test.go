package ipvsoracle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// strippedBlocks are the blocks stripChecks removes: the health checkers. VRRP blocks
// stay: both daemons run with -C, which ignores them (auth_type AH in the SSL_GET
// sample included).
var strippedBlocks = map[string]bool{
	"TCP_CHECK": true, "HTTP_GET": true, "SSL_GET": true, "SMTP_CHECK": true, "MISC_CHECK": true,
	"UDP_CHECK": true, "PING_CHECK": true, "DNS_CHECK": true, "FILE_CHECK": true, "BFD_CHECK": true,
}

// stripChecks removes the health checkers of a keepalived.conf, so that every real
// server counts as up and the table both daemons leave does not depend on checker
// timing. A block runs from its keyword to its closing brace.
func stripChecks(conf string) string {
	var out strings.Builder
	inBlock, opened, depth := false, false, 0
	for _, line := range strings.SplitAfter(conf, "\n") {
		code := line
		if i := strings.IndexAny(code, "#!"); i >= 0 {
			code = code[:i] // keepalived comments start anywhere
		}
		if !inBlock {
			f := strings.Fields(code)
			if len(f) == 0 || !strippedBlocks[strings.TrimSuffix(f[0], "{")] {
				out.WriteString(line)
				continue
			}
			inBlock, opened, depth = true, false, 0
		}
		depth += strings.Count(code, "{") - strings.Count(code, "}")
		opened = opened || strings.Contains(code, "{")
		if opened && depth <= 0 {
			inBlock = false
		}
	}
	return out.String()
}

// TestSameTableAsKeepalived: for every keepalived sample holding a virtual_server and
// for forms.conf, keepalived -C and govs run -C --dataplane ipvs leave the same
// ipvsadm -S -n and timeouts.
func TestSameTableAsKeepalived(t *testing.T) {
	h := setup(t)
	t.Parallel()
	samples, err := filepath.Glob("testdata/keepalived-samples/keepalived.conf.*")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	samples = append(samples, "testdata/forms.conf")
	var extra []string
	dir := t.TempDir()
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(filepath.Base(s), "keepalived.conf.")
		name = strings.TrimSuffix(name, ".conf")
		p := filepath.Join(dir, name+".static.conf")
		if err := os.WriteFile(p, []byte(stripChecks(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, p)
	}
	out := h.run(t, "samples", extra...)
	if n := strings.Count(out, "same table as keepalived"); n != len(samples) {
		t.Errorf("%d comparisons reported, want %d", n, len(samples))
	}
}

func TestStripChecks(t *testing.T) {
	in := `virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        weight 1
        HTTP_GET {
            url { path / } ! comment {
            connect_timeout 3
        }
        TCP_CHECK { connect_timeout 1 }
    }
}
vrrp_instance VI_1 {
    authentication {
        auth_type AH
    }
}
`
	want := `virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        weight 1
    }
}
vrrp_instance VI_1 {
    authentication {
        auth_type AH
    }
}
`
	if got := stripChecks(in); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
