package daemon

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/testutil"
)

// TestFIFOScripts: a reader script gets its FIFO (created for it) as its last argument
// and reads, with one loop, lines that govs writes one open at a time (govs holds the
// FIFO open between them, as keepalived); a reload with the same readers leaves it
// running; stop ends it and removes the FIFO govs created.
func TestFIFOScripts(t *testing.T) {
	dir := t.TempDir()
	fifo, out := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "out")
	// The reader copies each line, prefixed with its first argument, to out.
	reader := fifoReader{path: fifo, argv: []string{"/bin/sh", "-c", `while read -r l; do echo "$0 $l" >> ` + out + `; done < "$1"`, "got", fifo}}
	f := &fifoScripts{log: slog.New(slog.DiscardHandler)}
	f.apply([]fifoReader{reader}, script.Security{})
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO not created: %v", err)
	}
	f.apply([]fifoReader{reader}, script.Security{}) // a reload that changes nothing
	write := func(line string) {
		t.Helper()
		if err := notify.WriteFIFO(fifo, line); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if b, _ := os.ReadFile(out); strings.Contains(string(b), strings.TrimSpace(line)) {
				return
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(out)
				t.Fatalf("the reader did not get %q; it wrote %q", line, b)
			}
		}
	}
	write("INSTANCE \"VI_1\" MASTER 100\n")
	write("INSTANCE \"VI_1\" BACKUP 100\n")
	f.stop()
	if _, err := os.Stat(fifo); !os.IsNotExist(err) {
		t.Errorf("the FIFO govs created is still there: %v", err)
	}
	b, _ := os.ReadFile(out)
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 || lines[0] != `got INSTANCE "VI_1" MASTER 100` || lines[1] != `got INSTANCE "VI_1" BACKUP 100` {
		t.Errorf("reader wrote %q; want both lines, read in one loop", b)
	}
}

// TestFIFOScriptSecurity: a FIFO reader script is a notify script to keepalived: with
// enable_script_security one that runs as root from a directory others can write to is
// not started, while its FIFO is still made.
func TestFIFOScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the check applies to scripts run as root")
	}
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	ran := filepath.Join(dir, "ran")
	reader := filepath.Join(open, "reader.sh")
	if err := os.WriteFile(reader, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "notify.fifo")
	var logs testutil.SyncBuffer
	f := &fifoScripts{log: slog.New(slog.NewTextHandler(&logs, nil))}
	f.apply([]fifoReader{{path: fifo, argv: []string{reader, fifo}, user: "root"}}, script.Security{Enabled: true})
	defer f.stop()
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO not created: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(ran); !os.IsNotExist(err) {
		t.Fatalf("the unsafe script ran (%v)", err)
	}
	if !strings.Contains(logs.String(), "notify FIFO script of "+fifo+" disabled") {
		t.Fatalf("log: %s", logs.String())
	}
}
