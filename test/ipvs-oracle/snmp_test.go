package ipvsoracle

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSNMPCheckerAsKeepalived: with enable_snmp_checker and enable_traps, keepalived -C
// and govs run -C --dataplane ipvs under one snmpd give the same snmpwalk of
// KEEPALIVED-MIB's checker part (1.3.6.1.4.1.9586.100.5.3), with every server up and
// again with one down and its virtual server's quorum lost, and send the same
// notifications as that server goes down and comes back and as they stop; at start,
// as many quorum notifications (their counts of servers up depend on which checks
// ended first). snmpset of realServerWeight gets the same answers from both and
// leaves the same weights, kernel table and notifications.
func TestSNMPCheckerAsKeepalived(t *testing.T) {
	h := setup(t)
	t.Parallel()
	sink := filepath.Join(h.dir, "trapsink")
	build := exec.Command("go", "build", "-trimpath", "-o", sink, "./test/ipvs-oracle/trapsink")
	build.Dir = h.root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the trap sink: %v\n%s", err, out)
	}
	h.run(t, "snmp-checker", sink)
}
