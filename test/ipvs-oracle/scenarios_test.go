package ipvsoracle

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/testutil"
)

// TestAdmMatchesIpvsadm: govs adm listings equal ipvsadm's at the same moment after
// traffic, and govs adm changes act on the kernel until the next reload.
func TestAdmMatchesIpvsadm(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "adm")
}

// TestHealthTransitions: dead real servers leave the kernel table (or get weight 0)
// within keepalived's bound and come back; govs leaves the same table as keepalived.
func TestHealthTransitions(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "health")
}

// TestReloadAndRestart: SIGHUP sends only the differences; a restart adopts the table
// and established connections survive; SIGTERM removes only govs's services.
func TestReloadAndRestart(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "reload")
}

// TestChooseInGuest: auto picks ipvs on a kernel with IPVS.
func TestChooseInGuest(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "choose", "dataplane.test")
}

// TestSyncDaemonFailover: two directors, each govs run with VRRP and lvs_sync_daemon;
// the backup holds the master's connections, and one keeps carrying data through the
// new master after the old one dies.
func TestSyncDaemonFailover(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "sync")
}

// TestSyncDaemonFailoverSplit: the same with govs run -P and govs run -C apart on each
// director; the -P process runs the sync daemon and moves it with VRRP.
func TestSyncDaemonFailoverSplit(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "sync-split", filepath.Join(h.root, "test/ipvs-oracle/scenarios/sync.sh"))
}

// TestIPVSInAnotherNamespace: net_namespace_ipvs programs IPVS in the named namespace,
// or the default one, as keepalived does, and a reload cannot move it; nftables_ipvs's
// tables go there too, the same as keepalived's.
func TestIPVSInAnotherNamespace(t *testing.T) {
	h := setup(t)
	t.Parallel()
	h.run(t, "netns-ipvs")
}

// TestForcedIPVSOnThisHost: on a host without IPVS (the development machines),
// govs run --dataplane ipvs refuses to start, says why and what to use instead.
func TestForcedIPVSOnThisHost(t *testing.T) {
	testutil.Integration(t)
	if ok, why := dataplane.HaveIPVS(); ok {
		t.Logf("this host has IPVS (%s): --dataplane ipvs is valid here; the guest tests cover it", why)
		return
	}
	govs := testutil.GovsBinary(t)
	conf := t.TempDir() + "/k.conf"
	if err := writeFile(conf, "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 127.0.0.1 80 { weight 1 }\n}\n"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(govs, "run", "-C", "-f", conf, "--dataplane", "ipvs", "--socket", t.TempDir()+"/s").CombinedOutput()
	if err == nil {
		t.Fatalf("govs run --dataplane ipvs started on a host without IPVS:\n%s", out)
	}
	for _, want := range []string{"no IPVS", "--dataplane proxy"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the message should say %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}
