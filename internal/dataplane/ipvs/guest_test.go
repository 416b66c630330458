//go:build ipvsguest

package ipvs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// TestGuestDirector is one director's IPVS plane inside the kernel suite's qemu guest
// (test/ipvs-oracle/scenarios/sync.sh builds this file with -tags ipvsguest and runs
// one per director namespace). It programs VIP:80 -> 10.0.0.1:80 (NAT), runs the sync
// daemon on $GOVS_GUEST_SYNC_IFACE in the backup role, then follows the commands the
// script appends to $GOVS_GUEST_CTL, one a line: "master" and "backup" are VRRP
// transitions (SetSyncRole), "stop" ends it, leaving the table and the connections to
// the kernel. It reports each step on stdout.
func TestGuestDirector(t *testing.T) {
	ctl, iface := os.Getenv("GOVS_GUEST_CTL"), os.Getenv("GOVS_GUEST_SYNC_IFACE")
	if ctl == "" || iface == "" {
		t.Fatal("GOVS_GUEST_CTL and GOVS_GUEST_SYNC_IFACE must be set")
	}
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Configure(Options{OnStop: KeepTable})
	defer p.Close(context.Background())
	tbl := table.Table{Services: []table.Service{svc(tcp("192.168.10.100:80"), "rr", nat("10.0.0.1:80", 1))}}
	if err := p.Apply(context.Background(), tbl); err != nil {
		t.Fatal(err)
	}
	if err := p.SetSync(&adm.Daemon{Interface: iface, SyncID: 7}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("director ready: backup")
	deadline := time.Now().Add(3 * time.Minute)
	done := 0
	for time.Now().Before(deadline) {
		lines := readLines(ctl)
		for ; done < len(lines); done++ {
			switch cmd := lines[done]; cmd {
			case "master", "backup":
				if err := p.SetSyncRole(cmd == "master"); err != nil {
					t.Fatal(err)
				}
				for _, d := range p.Daemons() {
					fmt.Printf("director daemon: %s syncid %d on %s\n", d.State, d.SyncID, d.Interface)
				}
				fmt.Println("director role:", cmd)
			case "stop":
				fmt.Println("director stopped")
				return
			default:
				t.Fatalf("unknown command %q", cmd)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no stop command within 3 minutes")
}

func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
