package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// kaTrackConf has vrrp_track_process blocks (matched by process name, by command line
// with param_match initial, two that match nothing; weights, reverse, quorum,
// quorum_max, delays) and bfd_instances (one for checkers only), tracked by a sync
// group without sync_group_tracking_weight and its members, by an address owner, and
// by a member of a group with sync_group_tracking_weight, each with a weighted entry
// that keepalived drops or keeps. The instances' interface does not exist
// (dynamic_interfaces): they stay in FAULT and touch no network. The arguments are the
// AgentX socket, the name of the processes matched by name, and the parameter of the
// one matched by command line.
const kaTrackConf = `global_defs {
  router_id lb-track
  enable_snmp_vrrp
  snmp_socket %[1]s
  dynamic_interfaces
}
vrrp_track_process tp_comm {
  process %[2]s
  weight 10 reverse
  quorum 1
  quorum_max 3
  delay 1.5
}
vrrp_track_process tp_cmd {
  process /bin/sleep %[3]s
  param_match initial
  weight -5
  fork_delay 0.25
}
vrrp_track_process tp_none {
  process /bin/sleep 1 2
  quorum 2
  terminate_delay 2
}
vrrp_track_process tp_part {
  process %[2]s 9
  param_match partial
  quorum_max 0
}
bfd_instance bfd_a {
  neighbor_ip 10.61.0.9
  weight 7 reverse
}
bfd_instance bfd_chk {
  neighbor_ip 10.61.0.11
  checker
}
bfd_instance bfd_b {
  neighbor_ip 10.61.0.10
}
vrrp_sync_group G1 {
  group {
    VI_A
    VI_B
  }
  track_process {
    tp_comm weight 3
    tp_none
  }
  track_bfd {
    bfd_b weight 2
    bfd_a
  }
}
vrrp_sync_group G2 {
  group {
    VI_D
    VI_E
  }
  sync_group_tracking_weight
  track_process {
    tp_part
  }
}
vrrp_instance VI_A {
  interface gvstp0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    10.71.0.1/24
  }
  track_process {
    tp_cmd
    tp_none weight 0
    tp_cmd weight 2
  }
  track_bfd {
    bfd_a
    bfd_b weight 0
    bfd_a weight 0
  }
}
vrrp_instance VI_B {
  interface gvstp0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    10.71.0.2/24
  }
  track_bfd {
    bfd_b
  }
}
vrrp_instance VI_C {
  interface gvstp0
  virtual_router_id 53
  priority 255
  virtual_ipaddress {
    10.71.0.3/24
  }
  track_process {
    tp_comm weight 5
  }
  track_bfd {
    bfd_b weight -3
    bfd_a weight 0
  }
}
vrrp_instance VI_D {
  interface gvstp0
  virtual_router_id 54
  priority 100
  virtual_ipaddress {
    10.71.0.4/24
  }
  track_bfd {
    bfd_a
  }
}
vrrp_instance VI_E {
  interface gvstp0
  virtual_router_id 55
  priority 100
  virtual_ipaddress {
    10.71.0.5/24
  }
}
`

// TestKeepalivedMIBTrackProcessBFDAsKeepalived runs keepalived 2.2.7 and then govs
// (-P -B) under a real snmpd: snmpwalk of KEEPALIVED-MIB's tracked BFD, BFD, tracked
// process, process and sync groups' tracked BFD and process tables (vrrp 17 to 22)
// gives the same variables, types and values for both. Two processes the test starts
// match one block by name and one by command line; nothing matches the others.
//
// The daemons run in the test's own network namespace, the initial one: keepalived
// counts processes only once the kernel's proc connector answers, which it does only
// there (in a test namespace keepalived sees no process at all). Their instances'
// interface does not exist, so they send and configure nothing; snmpd stays in a
// test namespace, reached by its AgentX socket's path. -B runs no BFD session (one in
// this namespace would send to the host's network), so every session is down, as an
// unanswered one is.
func TestKeepalivedMIBTrackProcessBFDAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	dir := t.TempDir()
	sleep := testutil.NeedCommand(t, "sleep")
	// Names no other process has: the kernel keeps 15 characters of a process name.
	comm := fmt.Sprintf("gvstp%d", os.Getpid())
	param := fmt.Sprintf("3133.%d", os.Getpid())
	if err := os.Symlink(sleep, filepath.Join(dir, comm)); err != nil {
		t.Fatal(err)
	}
	startHere(t, filepath.Join(dir, comm), "3600")
	startHere(t, filepath.Join(dir, comm), "3601")
	startHere(t, "/bin/sleep", param+"9") // param_match initial: param is a prefix
	conf := writeTestFile(t, dir, "keepalived.conf", fmt.Sprintf(kaTrackConf, m.Socket, comm, param))

	const root = "1.3.6.1.4.1.9586.100.5.2"
	var tables []string
	for n := 17; n <= 22; n++ {
		tables = append(tables, fmt.Sprintf("%s.%d", root, n))
	}
	run := func(name string, argv ...string) string {
		stop, logs := startHere(t, argv[0], argv[1:]...)
		defer stop()
		// Once every instance shows FAULT the node has read the processes.
		var states string
		if !testutil.Eventually(30*time.Second, func() bool {
			states = m.Walk(root + ".3.1.4")
			return strings.Count(states, "INTEGER: 3") == 5
		}) {
			t.Fatalf("%s: the instances are not all in FAULT:\n%s\n%s", name, states, logs.String())
		}
		return m.Walk(tables...)
	}
	ka := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-B", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gv := run("govs", testutil.GovsBinary(t), "run", "-P", "-B", "-f", conf)
	if gv != ka {
		t.Errorf("walk of the process and BFD tables differs:\ngovs:\n%s\nkeepalived:\n%s", gv, ka)
	}
	// Every table has rows, and keepalived counted the processes.
	for _, row := range []string{
		".5.2.17.1.2.1.1 = STRING", ".5.2.18.1.2.2 = STRING", ".5.2.19.1.2.1.2 = STRING",
		".5.2.20.1.2.3.1 = STRING", ".5.2.21.1.2.4 = STRING", ".5.2.22.1.2.2.1 = STRING",
		".5.2.21.1.13.1 = INTEGER: 2", ".5.2.21.1.13.2 = INTEGER: 1",
	} {
		if !strings.Contains(ka, row) {
			t.Errorf("keepalived's walk has no %s…:\n%s", row, ka)
		}
	}
}

// startHere starts a command in the test's own namespaces, its output in the returned
// buffer. stop ends it with SIGTERM, failing the test if it does not exit in time;
// t.Cleanup kills it if it still runs.
func startHere(t *testing.T, name string, args ...string) (stop func(), logs *testutil.SyncBuffer) {
	t.Helper()
	logs = &testutil.SyncBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not stop on SIGTERM:\n%s", name, logs.String())
		}
	}, logs
}
