package testutil

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Overflow sends bursts of n ip commands (command(burst, i) for each i) into network
// namespace ns, at most three, until overflowed reports that a netlink socket under
// test lost messages; the test fails if none did, since then nothing was tested.
func Overflow(t testing.TB, ns string, n int, command func(burst, i int) string, overflowed func() bool) {
	t.Helper()
	for burst := 0; burst < 3 && !overflowed(); burst++ {
		var batch strings.Builder
		for i := range n {
			batch.WriteString(command(burst, i) + "\n")
		}
		cmd := exec.Command("ip", "-n", ns, "-batch", "-")
		cmd.Stdin = strings.NewReader(batch.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip -batch: %v %s", err, out)
		}
		Eventually(time.Second, overflowed)
	}
	if !overflowed() {
		t.Fatalf("three bursts of %d commands did not overflow the socket: nothing tested", n)
	}
}
