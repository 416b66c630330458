package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNoBFD: with NoBFD (keepalived -B) no bfd_instance session runs, at start or after
// a reload that changes them; without it they do.
func TestNoBFD(t *testing.T) {
	b := startBackend(t)
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	write := func(minRx int) {
		text := fmt.Sprintf("bfd_instance B1 {\n  neighbor_ip 127.0.0.2\n  min_rx %d\n}\n", minRx) + twoServerConfig(freePort(t), b.addr)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(100)
	for _, noBFD := range []bool{true, false} {
		d, err := Start(context.Background(), Options{ConfigPath: conf, Dataplane: "proxy", NoBFD: noBFD, StopTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if (d.bfd == nil) != noBFD {
			t.Errorf("NoBFD %v: BFD runner %v", noBFD, d.bfd)
		}
		write(200)
		if err := d.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		if (d.bfd == nil) != noBFD {
			t.Errorf("NoBFD %v, after a reload: BFD runner %v", noBFD, d.bfd)
		}
		d.Stop()
		write(100)
	}
}
