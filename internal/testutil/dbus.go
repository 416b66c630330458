package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// busConf is a system bus of the test's own that lets anyone own and call anything.
const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`

// PrivateBus starts a dbus-daemon of the test's own, stopped at its end, and returns
// its address (what DBUS_SYSTEM_BUS_ADDRESS takes). The host's system bus is never
// touched.
func PrivateBus(t testing.TB) string {
	t.Helper()
	b := NewBus(t)
	b.Start()
	return b.Addr
}

// Bus is a dbus-daemon of the test's own that can be stopped and started again at the
// same address, as a restart of the system bus; it is stopped at the test's end.
type Bus struct {
	Addr string // what DBUS_SYSTEM_BUS_ADDRESS takes

	t          testing.TB
	conf, sock string
	cmd        *exec.Cmd
}

// NewBus prepares a bus; Start starts it.
func NewBus(t testing.TB) *Bus {
	t.Helper()
	NeedCommand(t, "dbus-daemon")
	dir := t.TempDir()
	b := &Bus{t: t, conf: filepath.Join(dir, "bus.conf"), sock: filepath.Join(dir, "bus")}
	b.Addr = "unix:path=" + b.sock
	if err := os.WriteFile(b.conf, fmt.Appendf(nil, busConf, b.sock), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// Start starts the bus and waits until it accepts connections.
func (b *Bus) Start() {
	b.t.Helper()
	b.cmd = exec.Command("dbus-daemon", "--config-file="+b.conf, "--nofork", "--nopidfile")
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	if !Eventually(5*time.Second, func() bool {
		c, err := net.Dial("unix", b.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		b.t.Fatal("the private D-Bus bus did not start")
	}
}

// Stop kills the bus, as a crash would; every connection to it ends.
func (b *Bus) Stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Kill()
	b.cmd.Wait()
	b.cmd = nil
	os.Remove(b.sock)
}
