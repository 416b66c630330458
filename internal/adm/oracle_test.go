package adm

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
)

// The oracle tests replay the command sequences of the real ipvsadm 1.31 on a real kernel
// (testdata/oracle/*.txt, copied from shared/oracle/ipvs/golden) against a Model and
// demand the same output, byte for byte, and the same exit status for every command.

// oracleSalt reproduces the service hash order of the oracle's network namespace: the
// only value for which the model's --nosort listing matches the kernel's.
const oracleSalt = 176

// oracleStep is one "$ command" of a golden file with what it printed.
type oracleStep struct {
	section string
	cmd     string
	out     string
	rc      int
	line    int
}

var rcLine = regexp.MustCompile(`^\[rc=(\d+)\]$`)

func readOracle(t *testing.T, path string) []oracleStep {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var steps []oracleStep
	section := ""
	var cur *oracleStep
	var out []string
	flush := func() {
		if cur == nil {
			return
		}
		if n := len(out); n > 0 {
			if m := rcLine.FindStringSubmatch(out[n-1]); m != nil {
				cur.rc, _ = strconv.Atoi(m[1])
				out = out[:n-1]
			}
		}
		if len(out) > 0 {
			cur.out = strings.Join(out, "\n") + "\n"
		}
		steps = append(steps, *cur)
		cur, out = nil, nil
	}
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "### "):
			// The blank line before a section title belongs to the title.
			if n := len(out); n > 0 && out[n-1] == "" {
				out = out[:n-1]
			}
			flush()
			section = strings.TrimPrefix(l, "### ")
		case strings.HasPrefix(l, "$ "):
			flush()
			cur = &oracleStep{section: section, cmd: strings.TrimPrefix(l, "$ "), line: i + 1}
		case cur != nil:
			out = append(out, l)
		}
	}
	flush()
	return steps
}

// testResolver resolves like the oracle's guest: localhost, and Debian's /etc/services.
func testResolver(t testing.TB) *Names {
	t.Helper()
	var n Names
	for file, parse := range map[string]func(*os.File) error{
		"testdata/etc-hosts":    func(f *os.File) error { return n.ParseHosts(f) },
		"testdata/etc-services": func(f *os.File) error { return n.ParseServices(f) },
	} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := parse(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return &n
}

// oracleRunner runs golden-file commands against one model.
type oracleRunner struct {
	t     *testing.T
	model *Model
	names *Names
	files map[string]string // what the test wrote to /tmp
}

func newOracleRunner(t *testing.T, syncIfaces ...string) *oracleRunner {
	return &oracleRunner{
		t: t,
		model: NewModel(ModelOptions{Salt: oracleSalt, SyncInterface: func(name string) bool {
			for _, n := range syncIfaces {
				if n == name {
					return true
				}
			}
			return false
		}}),
		names: testResolver(t),
		files: map[string]string{},
	}
}

// ipvsadm runs one invocation and returns stdout and stderr together, as the oracle's
// "2>&1" captured them.
func (r *oracleRunner) ipvsadm(stdin string, argv ...string) (string, int) {
	var out bytes.Buffer
	env := Env{Prog: "ipvsadm", Backend: r.model, Resolver: r.names,
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out}
	code := Run(env, argv)
	return out.String(), code
}

var redirectFrom = regexp.MustCompile(`^sh -c ["']ipvsadm -R < (/tmp/\w+)["']$`)

// step runs a golden command; ok is false for commands that are not ipvsadm's (traffic
// generators, /proc reads), which the test skips.
func (r *oracleRunner) step(s oracleStep) (out string, rc int, ok bool) {
	cmd := s.cmd
	switch {
	case strings.HasPrefix(cmd, "ipvsadm"):
		o, c := r.ipvsadm("", strings.Fields(cmd)[1:]...)
		return o, c, true
	case cmd == "sh -c 'ipvsadm -h | head -3'":
		o, _ := r.ipvsadm("", "-h")
		return strings.Join(strings.SplitAfter(o, "\n")[:3], ""), 0, true
	case cmd == "sh -c 'ipvsadm --help >/dev/null'":
		_, c := r.ipvsadm("", "--help")
		return "", c, true
	case cmd == `sh -c 'echo "-R" | ipvsadm -R'`:
		o, c := r.ipvsadm("-R\n", "-R")
		return o, c, true
	case redirectFrom.MatchString(cmd):
		file := redirectFrom.FindStringSubmatch(cmd)[1]
		content, known := r.files[file]
		if !known {
			r.t.Fatalf("line %d: %s was never written", s.line, file)
		}
		o, c := r.ipvsadm(content, "-R")
		return o, c, true
	case strings.HasPrefix(cmd, "cat /tmp/"):
		// The test printed a file it wrote: that is the file.
		r.files[strings.TrimPrefix(cmd, "cat ")] = s.out
		return s.out, s.rc, true
	case cmd == "conns" || strings.HasPrefix(cmd, "conns "):
		o, c := r.ipvsadm("", append([]string{"-L", "-c", "-n"}, strings.Fields(cmd)[1:]...)...)
		lines := strings.SplitAfter(o, "\n")
		rows := lines[2 : len(lines)-1]
		sort.Strings(rows)
		return strings.Join(lines[:2], "") + strings.Join(rows, ""), c, true
	case cmd == `sh -c "ipvsadm -S -n | diff /tmp/saved - && echo identical"`:
		o, _ := r.ipvsadm("", "-S", "-n")
		want := patch(r.t, r.files["/tmp/saved"], s.out)
		if o != want {
			r.t.Errorf("line %d: -S -n after the round trip:\n%s\nwant (saved + the oracle's diff):\n%s", s.line, o, want)
		}
		return s.out, s.rc, true
	}
	return "", 0, false
}

// patch applies a unified diff (as diff(1) printed it) to old.
func patch(t *testing.T, old, diff string) string {
	t.Helper()
	oldLines := strings.SplitAfter(old, "\n")
	oldLines = oldLines[:len(oldLines)-1]
	var out []string
	pos := 0
	hunk := regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@`)
	for _, l := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
		case hunk.MatchString(l):
			start, _ := strconv.Atoi(hunk.FindStringSubmatch(l)[1])
			out = append(out, oldLines[pos:start-1]...)
			pos = start - 1
		case strings.HasPrefix(l, " "):
			out = append(out, oldLines[pos])
			pos++
		case strings.HasPrefix(l, "-"):
			pos++
		case strings.HasPrefix(l, "+"):
			out = append(out, l[1:]+"\n")
		}
	}
	out = append(out, oldLines[pos:]...)
	return strings.Join(out, "")
}

func (r *oracleRunner) replay(steps []oracleStep, before func(s oracleStep)) {
	ran := 0
	for _, s := range steps {
		if before != nil {
			before(s)
		}
		out, rc, ok := r.step(s)
		if !ok {
			continue
		}
		ran++
		if out != s.out || rc != s.rc {
			r.t.Errorf("line %d [%s] $ %s\n got (rc=%d):\n%s\nwant (rc=%d):\n%s", s.line, s.section, s.cmd, rc, out, s.rc, s.out)
		}
	}
	if ran < len(steps)/2 {
		r.t.Fatalf("only %d of %d golden commands ran", ran, len(steps))
	}
}

func TestOracleCLI(t *testing.T) {
	r := newOracleRunner(t)
	steps := readOracle(t, "testdata/oracle/cli.txt")
	// The -R inputs the oracle never printed (tests/cli.sh writes them with printf).
	r.files["/tmp/r3"] = "-A -t 192.168.10.100:94 -s rr\n\n-a -t 192.168.10.100:94 -r 10.0.0.1:94 -m\n"
	r.files["/tmp/r4"] = "-A -t 192.168.10.100:95 -s rr\n# comment\n-a -t 192.168.10.100:95 -r 10.0.0.1:95 -m\n"
	r.replay(steps, nil)
}

// traffic is testdata/formats-traffic.json: what the oracle's traffic left in the kernel.
type traffic struct {
	Stats, StatsLater table.Stats
	Conns, ConnsLater []struct {
		Protocol              table.Protocol
		ExpiresSec            int
		State                 string
		Client, Virtual, Dest netip.AddrPort
	}
}

func (tr traffic) conns(later bool) []table.Conn {
	rows := tr.Conns
	if later {
		rows = tr.ConnsLater
	}
	var cs []table.Conn
	for _, c := range rows {
		cs = append(cs, table.Conn{Protocol: c.Protocol, Client: c.Client, Virtual: c.Virtual, Dest: c.Dest,
			State: c.State, Expires: time.Duration(c.ExpiresSec) * time.Second})
	}
	return cs
}

func TestOracleFormats(t *testing.T) {
	data, err := os.ReadFile("testdata/formats-traffic.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr traffic
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	r := newOracleRunner(t, "vc")
	steps := readOracle(t, "testdata/oracle/formats.txt")
	r.replay(steps, func(s oracleStep) {
		switch {
		case s.section == "listings" && s.cmd == "ipvsadm -L -n":
			r.model.SetStats(tr.Stats)
			r.model.SetConns(tr.conns(false))
		case s.cmd == "ipvsadm -L -n -t 192.168.10.100:80 --stats":
			r.model.SetStats(tr.StatsLater)
		case s.cmd == "conns --persistent-conn":
			r.model.SetConns(tr.conns(true))
		case s.section == "save | clear | restore round trip" && r.files["/tmp/saved"] == "":
			// formats.sh saves silently: ipvsadm -S -n > /tmp/saved
			r.files["/tmp/saved"], _ = r.ipvsadm("", "-S", "-n")
		}
	})
}
