package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestTrackBFDWithKeepalived: `govs run -P` on lb1 tracks a BFD session (track_bfd,
// weight 0) with the real keepalived's bfd_instance on lb2. The instance takes the VIP
// only once the session is Up; killing keepalived takes the session Down within its
// detection time (5 × 10 ms) and the instance to FAULT, which gives the VIP up;
// keepalived back, the session and the VIP come back.
func TestTrackBFDWithKeepalived(t *testing.T) {
	lb1, lb2, _ := vrrpLAN(t)
	testutil.NeedCommand(t, "keepalived")
	c := instanceConf{version: 3, advert: "0.1", prio: 150, state: "BACKUP",
		extra: "track_bfd {\n        to-lb2\n    }",
		top:   "bfd_instance to-lb2 {\n    neighbor_ip 10.78.0.2\n}\n"}
	kaConf := filepath.Join(lb2.dir, "bfd.conf")
	if err := os.WriteFile(kaConf, []byte("bfd_instance to-lb1 {\n    neighbor_ip 10.78.0.1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startKA := func() {
		t.Helper()
		lb2.keepLogs()
		for _, f := range []string{"k.pid", "v.pid", "c.pid", "b.pid"} {
			_ = os.Remove(filepath.Join(lb2.dir, f))
		}
		lb2.cmd, lb2.logs = lb2.host.Start("keepalived", "-n", "-l", "-D", "-f", kaConf,
			"-p", filepath.Join(lb2.dir, "k.pid"), "-r", filepath.Join(lb2.dir, "v.pid"),
			"-c", filepath.Join(lb2.dir, "c.pid"), "-b", filepath.Join(lb2.dir, "b.pid"))
	}
	lb1.startGovs(c)
	time.Sleep(time.Second) // well past Master_Down_Interval: no BFD yet, no VIP
	if lb1.hasAddr(netnsVIP) {
		t.Fatalf("lb1 took the VIP while its tracked BFD session was down\n%s", lb1.allLogs())
	}
	startKA()
	if !testutil.Eventually(10*time.Second, func() bool { return lb1.hasAddr(netnsVIP) }) {
		t.Fatalf("lb1 did not take the VIP once the BFD session could come up\n%s", lb1.allLogs())
	}
	if !strings.Contains(lb1.allLogs(), "BFD_Instance(to-lb2) Entering Up state") {
		t.Errorf("no Up in lb1's log")
	}

	start := time.Now()
	killTree(t, lb2.cmd.Process.Pid)
	if !testutil.Eventually(3*time.Second, func() bool { return !lb1.hasAddr(netnsVIP) }) {
		t.Fatalf("lb1 kept the VIP after its BFD neighbour died\n%s", lb1.allLogs())
	}
	t.Logf("VIP given up %v after keepalived was killed", time.Since(start).Round(time.Millisecond))

	startKA()
	if !testutil.Eventually(10*time.Second, func() bool { return lb1.hasAddr(netnsVIP) }) {
		t.Fatalf("lb1 did not take the VIP back with the BFD session\n%s", lb1.allLogs())
	}
}

// TestBFDCheckWithKeepalived: a real server checked with BFD_CHECK is in the table
// while the session with keepalived's bfd_instance on its host is Up, and out of it
// once keepalived is killed.
func TestBFDCheckWithKeepalived(t *testing.T) {
	lb1, lb2, _ := vrrpLAN(t)
	testutil.NeedCommand(t, "keepalived")
	conf := filepath.Join(lb1.dir, "keepalived.conf")
	sock := filepath.Join(lb1.dir, "govs.sock")
	if err := os.WriteFile(conf, []byte(`bfd_instance to-rs {
    neighbor_ip 10.78.0.2
}
virtual_server 10.78.0.1 8080 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.78.0.2 80 {
        BFD_CHECK {
            name to-rs
        }
    }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	kaConf := filepath.Join(lb2.dir, "bfd.conf")
	if err := os.WriteFile(kaConf, []byte("bfd_instance to-lb {\n    neighbor_ip 10.78.0.1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lb1.cmd, lb1.logs = lb1.host.Start(testutil.GovsBinary(t), "run", "-f", conf, "--socket", sock, "--dataplane", "proxy")
	inTable := func() bool {
		out, _ := exec.Command(testutil.GovsBinary(t), "adm", "--socket", sock, "-L", "-n").CombinedOutput()
		return strings.Contains(string(out), "10.78.0.2:80")
	}
	if !testutil.Eventually(5*time.Second, func() bool {
		out, err := exec.Command(testutil.GovsBinary(t), "adm", "--socket", sock, "-L", "-n").CombinedOutput()
		return err == nil && strings.Contains(string(out), "10.78.0.1:8080")
	}) {
		t.Fatalf("govs did not come up\n%s", lb1.allLogs())
	}
	if !testutil.Eventually(3*time.Second, func() bool { return !inTable() }) {
		t.Fatalf("the real server is in the table although its BFD session is down\n%s", lb1.allLogs())
	}
	ka, kaLogs := lb2.host.Start("keepalived", "-n", "-l", "-D", "-f", kaConf,
		"-p", filepath.Join(lb2.dir, "k.pid"), "-r", filepath.Join(lb2.dir, "v.pid"),
		"-c", filepath.Join(lb2.dir, "c.pid"), "-b", filepath.Join(lb2.dir, "b.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived:\n%s", kaLogs.String())
		}
	})
	if !testutil.Eventually(10*time.Second, inTable) {
		t.Fatalf("the real server did not enter the table with its BFD session Up\n%s", lb1.allLogs())
	}
	start := time.Now()
	killTree(t, ka.Process.Pid)
	if !testutil.Eventually(3*time.Second, func() bool { return !inTable() }) {
		t.Fatalf("the real server stayed in the table after its BFD neighbour died\n%s", lb1.allLogs())
	}
	t.Logf("out of the table %v after keepalived was killed", time.Since(start).Round(time.Millisecond))
}
