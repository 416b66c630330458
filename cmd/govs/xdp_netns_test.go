package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/testutil"
)

// The LVS-DR test network of the xdp data plane: a client, two directors running
// `govs run --dataplane xdp` with VRRP between them, and two real servers running nginx
// prepared by `govs realserver up`, all on one bridge, dual-stack: an IPv4 and an IPv6
// virtual server.
const (
	xdpVIP     = "10.79.0.100"
	xdpClient  = "10.79.0.10"
	xdpVIP6    = "fd79::100"
	xdpClient6 = "fd79::10"
)

var xdpReals = []struct{ name, addr, addr6 string }{{"rs1", "10.79.0.11", "fd79::11"}, {"rs2", "10.79.0.12", "fd79::12"}}

// xdpDirector is one director's namespace and its govs.
type xdpDirector struct {
	name, addr string
	host       *testutil.Host
	dir        string
	socket     string
	proc       *os.Process
	logs       *testutil.SyncBuffer
}

// xdpDirectorConf is the keepalived.conf both directors run: the same virtual servers
// (so both compute the same Maglev tables) and VRRP instances that move the VIPs. The
// IPv6 checks bind to the director's own address (addr6): the kernel would otherwise
// source them from the /128 VIP, the longest match, and the real servers, which hold
// the VIP too, would answer themselves.
func xdpDirectorConf(name, addr6 string, prio int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n", name)
	for _, vi := range []struct {
		name string
		vrid int
		vip  string
	}{{"VI_4", 79, xdpVIP + "/32"}, {"VI_6", 80, xdpVIP6 + "/128"}} {
		fmt.Fprintf(&b, `vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 0.1
    version 3
    virtual_ipaddress {
        %s dev eth0
    }
}
`, vi.name, vi.vrid, prio, vi.vip)
	}
	for _, family := range []string{"4", "6"} {
		vip := xdpVIP
		if family == "6" {
			vip = xdpVIP6
		}
		fmt.Fprintf(&b, `virtual_server %s 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP
`, vip)
		for _, rs := range xdpReals {
			addr, bind := rs.addr, ""
			if family == "6" {
				addr, bind = rs.addr6, "\n            bindto "+addr6
			}
			fmt.Fprintf(&b, `    real_server %s 80 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 0.2%s
        }
    }
`, addr, bind)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// xdpNginxConf makes nginx answer / with the server's name and /health from a file the
// test removes to fail the health check; keep-alive connections last the whole test. One
// process (no master), so that the test's SIGKILL at cleanup leaves no orphan worker.
func xdpNginxConf(dir, name string) string {
	return fmt.Sprintf(`user root;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s;
    proxy_temp_path %[1]s;
    fastcgi_temp_path %[1]s;
    uwsgi_temp_path %[1]s;
    scgi_temp_path %[1]s;
    keepalive_timeout 300s;
    keepalive_requests 100000;
    server {
        listen 80;
        listen [::]:80 ipv6only=on;
        root %[1]s/www;
        location = / { return 200 "%[2]s\n"; }
        location = /health { }
    }
}
`, dir, name)
}

// TestXDPDirectRouting runs LVS-DR end to end on the xdp data plane, over IPv4 and IPv6:
// requests to the VIPs go through the master director's XDP program, replies go straight
// from the real servers to the client; flows spread over both servers; a real server
// whose health check fails gets no new flows while its established ones go on; then the
// master dies, and the backup carries on every established flow, those of the failed
// server included (both directors compute the same Maglev tables, and a mid-flow packet
// without a flow entry is looked up in the table over every real server they were given).
func TestXDPDirectRouting(t *testing.T) {
	testutil.Integration(t)
	for _, c := range []string{"nginx", "tcpdump", "ethtool"} {
		testutil.NeedCommand(t, c)
	}
	bin := testutil.GovsBinary(t)
	lan := testutil.NewLAN(t)
	client := lan.AddHost("client", xdpClient+"/24", xdpClient6+"/64")
	// Native XDP on the director's veth loses the checksum a veth leaves for the
	// hardware to fill in: the client computes its own.
	xdpMust(t, client, "ethtool", "-K", "eth0", "tx", "off")

	rsMAC, rsRoot := map[string]string{}, map[string]string{}
	for _, rs := range xdpReals {
		h := lan.AddHost(rs.name, rs.addr+"/24", rs.addr6+"/64")
		rsMAC[rs.name] = xdpMAC(t, h)
		dir := t.TempDir()
		rsRoot[rs.name] = filepath.Join(dir, "www")
		if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "www", "health"), []byte("ok\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(xdpNginxConf(dir, rs.name)), 0o644); err != nil {
			t.Fatal(err)
		}
		xdpMust(t, h, bin, "realserver", "up", "--vip", xdpVIP+","+xdpVIP6)
		_, logs := h.Start("nginx", "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s nginx:\n%s", rs.name, logs.String())
			}
		})
	}

	var lbs []*xdpDirector
	for i, name := range []string{"lb1", "lb2"} {
		d := &xdpDirector{name: name, addr: fmt.Sprintf("10.79.0.%d", i+1), dir: t.TempDir()}
		addr6 := fmt.Sprintf("fd79::%d", i+1)
		d.host = lan.AddHost(name, d.addr+"/24", addr6+"/64")
		xdpBridgeXDPPass(t, d.host, name)
		conf := filepath.Join(d.dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(xdpDirectorConf(name, addr6, 150-50*i)), 0o600); err != nil {
			t.Fatal(err)
		}
		d.socket = filepath.Join(d.dir, "govs.sock")
		cmd, logs := d.host.Start(bin, "run", "-f", conf, "--dataplane", "xdp", "--interface", "eth0", "--socket", d.socket)
		d.proc, d.logs = cmd.Process, logs
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s govs:\n%s", d.name, d.logs.String())
			}
		})
		lbs = append(lbs, d)
	}
	lb1, lb2 := lbs[0], lbs[1]
	for _, d := range lbs {
		d.waitReals(t, 15*time.Second, "rs1", "rs2")
	}
	if !testutil.Eventually(10*time.Second, func() bool { return xdpHasVIPs(t, lb1) && !xdpHasVIPs(t, lb2) }) {
		t.Fatalf("the VIPs are not on lb1 alone (lb1 %v, lb2 %v)", xdpHasVIPs(t, lb1), xdpHasVIPs(t, lb2))
	}

	// Captures: on lb1, nothing from port 80 may reach the client through the director
	// (VRRP adverts prove the capture runs); on the client, replies come from the real
	// servers' MACs.
	lbCap := xdpCapture(t, lb1.host, "(tcp and src port 80 and (dst host "+xdpClient+" or dst host "+xdpClient6+")) or ip proto 112")
	clientCap := xdpCapture(t, client, "tcp and src port 80 and (src host "+xdpVIP+" or src host "+xdpVIP6+")")

	// Flows spread over both servers, in both families.
	const flows = 24
	conns := make([]*xdpConn, 0, 2*flows)
	for _, vip := range []string{xdpVIP, xdpVIP6} {
		servedBy := map[string]int{}
		for range flows {
			c := xdpDial(t, client, vip)
			c.server = c.get(t)
			servedBy[c.server]++
			conns = append(conns, c)
		}
		if servedBy["rs1"] == 0 || servedBy["rs2"] == 0 || servedBy["rs1"]+servedBy["rs2"] != flows {
			t.Fatalf("%d flows to %s served %v; want them spread over rs1 and rs2", flows, vip, servedBy)
		}
		t.Logf("%d flows to %s served %v", flows, vip, servedBy)
	}

	for _, line := range strings.Split(lbCap.stop(t, "VRRP"), "\n") {
		if strings.Contains(line, "> "+xdpClient) || strings.Contains(line, "> "+xdpClient6) {
			t.Errorf("lb1 saw reply traffic to the client: %s", line)
		}
	}
	replies := map[string]int{}
	for _, line := range strings.Split(clientCap.stop(t, xdpVIP6+".80 >"), "\n") {
		if line == "" {
			continue
		}
		if strings.Contains(line, xdpVIP6+".80 >") {
			replies["IPv6"]++
		} else {
			replies["IPv4"]++
		}
		if !strings.Contains(line, rsMAC["rs1"]+" >") && !strings.Contains(line, rsMAC["rs2"]+" >") {
			t.Errorf("a reply from a VIP came from no real server's MAC (rs1 %s, rs2 %s): %s", rsMAC["rs1"], rsMAC["rs2"], line)
		}
	}
	if replies["IPv4"] < flows || replies["IPv6"] < flows {
		t.Errorf("the client captured %v replies from the VIPs, want at least %d of each family", replies, flows)
	}

	// rs2's health check fails on both directors: no new flows for it, its established
	// flows go on.
	if err := os.Remove(filepath.Join(rsRoot["rs2"], "health")); err != nil {
		t.Fatal(err)
	}
	for _, d := range lbs {
		d.waitReals(t, 15*time.Second, "rs1")
	}
	newFlowsAvoidRS2 := func(via string) {
		t.Helper()
		for _, vip := range []string{xdpVIP, xdpVIP6} {
			for i := range flows / 2 {
				c := xdpDial(t, client, vip)
				if got := c.get(t); got != "rs1" {
					t.Fatalf("new flow %d to %s through %s went to %s while rs2 is down", i, vip, via, got)
				}
				c.close()
			}
		}
	}
	establishedStay := func(when string) {
		t.Helper()
		for i, c := range conns {
			if got := c.get(t); got != c.server {
				t.Fatalf("flow %d (%s): served by %s %s, by %s before", i, c.conn.RemoteAddr(), got, when, c.server)
			}
		}
	}
	newFlowsAvoidRS2("lb1")
	establishedStay("after rs2 went down")

	// The master dies: lb2 takes the VIPs, the client's neighbour entries follow, and
	// every established flow goes on to the same server through lb2, rs2's too.
	_ = lb1.proc.Signal(syscall.SIGKILL)
	lb2MAC := xdpMAC(t, lb2.host)
	if !testutil.Eventually(10*time.Second, func() bool {
		return xdpHasVIPs(t, lb2) && strings.Contains(xdpNeighbour(client, xdpVIP), lb2MAC) && strings.Contains(xdpNeighbour(client, xdpVIP6), lb2MAC)
	}) {
		t.Fatalf("after lb1 died: VIPs on lb2 %v, client's neighbour entries %q, %q (lb2 is %s)", xdpHasVIPs(t, lb2), xdpNeighbour(client, xdpVIP), xdpNeighbour(client, xdpVIP6), lb2MAC)
	}
	establishedStay("after the failover (rs2 down)")
	newFlowsAvoidRS2("lb2")
	for _, c := range conns {
		c.close()
	}
}

func xdpMust(t *testing.T, h *testutil.Host, name string, args ...string) string {
	t.Helper()
	out, err := h.Exec(name, args...)
	if err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", h.Name, name, strings.Join(args, " "), err, out)
	}
	return out
}

// xdpMAC is the MAC of h's eth0, as tcpdump and ip(8) print it.
func xdpMAC(t *testing.T, h *testutil.Host) string {
	t.Helper()
	return strings.TrimSpace(xdpMust(t, h, "cat", "/sys/class/net/eth0/address"))
}

// xdpBridgeXDPPass attaches a do-nothing XDP_PASS program to the bridge's end of h's
// veth: a veth delivers the frames its peer sends with XDP_TX only when it runs an XDP
// program itself.
func xdpBridgeXDPPass(t *testing.T, h *testutil.Host, name string) {
	t.Helper()
	// testutil names the bridge's namespace after the hosts' ("<prefix>br"), and eth0's
	// peer index (eth0@ifN) is the port's index there.
	bridge := strings.TrimSuffix(h.Name, name) + "br"
	link := xdpMust(t, h, "ip", "-o", "link", "show", "dev", "eth0")
	var peer int
	if i := strings.Index(link, "eth0@if"); i < 0 {
		t.Fatalf("%s: no veth peer index in %q", h.Name, link)
	} else if _, err := fmt.Sscanf(link[i+len("eth0@if"):], "%d", &peer); err != nil {
		t.Fatalf("%s: veth peer index in %q: %v", h.Name, link, err)
	}
	out, err := exec.Command("ip", "-n", bridge, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s link: %v\n%s", bridge, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var idx int
		var port string
		if _, err := fmt.Sscanf(line, "%d: %s", &idx, &port); err != nil || idx != peer {
			continue
		}
		port = port[:strings.IndexAny(port, "@:")]
		// The xdp package's test objects hold the program (bpf/trivial.c).
		obj := filepath.Join("..", "..", "internal", "dataplane", "xdp", "trivial_bpfel_test.o")
		if out, err := exec.Command("ip", "-n", bridge, "link", "set", "dev", port, "xdp", "obj", obj, "program", "xdp_pass").CombinedOutput(); err != nil {
			t.Fatalf("attaching xdp_pass to %s in %s: %v\n%s", port, bridge, err, out)
		}
		return
	}
	t.Fatalf("no interface %d in %s:\n%s", peer, bridge, out)
}

// xdpHasVIPs says whether the director holds both VIPs.
func xdpHasVIPs(t *testing.T, d *xdpDirector) bool {
	t.Helper()
	out := xdpMust(t, d.host, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+xdpVIP+"/") && strings.Contains(out, " "+xdpVIP6+"/")
}

// xdpNeighbour is the client's ARP or NDP entry for vip.
func xdpNeighbour(client *testutil.Host, vip string) string {
	out, _ := client.Exec("ip", "neigh", "show", vip, "dev", "eth0")
	return strings.ToLower(out)
}

// waitReals waits until the director's tables for the VIPs list exactly the named real
// servers, with a weight, as `govs adm -L -n` prints them.
func (d *xdpDirector) waitReals(t *testing.T, timeout time.Duration, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, rs := range xdpReals {
		for _, n := range names {
			if n == rs.name {
				want[rs.addr+":80"] = true
				want["["+rs.addr6+"]:80"] = true
			}
		}
	}
	var last string
	ok := testutil.Eventually(timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := ctl.Call(ctx, d.socket, ctl.Request{Argv: []string{"-L", "-n"}})
		if err != nil {
			last = err.Error()
			return false
		}
		last = resp.Stdout
		got := map[string]bool{}
		for _, line := range strings.Split(resp.Stdout, "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && f[0] == "->" && (strings.HasPrefix(f[1], "10.79.") || strings.HasPrefix(f[1], "[fd79:")) && f[3] != "0" {
				got[f[1]] = true
			}
		}
		if len(got) != len(want) {
			return false
		}
		for a := range want {
			if !got[a] {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("%s: after %v the table does not list exactly %v:\n%s", d.name, timeout, names, last)
	}
}

// xdpCap is a tcpdump running in a namespace.
type xdpCap struct {
	proc *os.Process
	out  *testutil.SyncBuffer
}

// xdpCapture starts tcpdump on h's eth0 (link-level headers, no name lookups) and
// returns once it listens.
func xdpCapture(t *testing.T, h *testutil.Host, filter string) *xdpCap {
	t.Helper()
	cmd, out := h.Start("tcpdump", "-i", "eth0", "-n", "-e", "-l", "-U", filter)
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(out.String(), "listening on") }) {
		t.Fatalf("tcpdump in %s did not start:\n%s", h.Name, out.String())
	}
	return &xdpCap{proc: cmd.Process, out: out}
}

// stop stops tcpdump once it has printed proof (a packet that shows the capture works)
// and returns the packets it printed, one a line.
func (c *xdpCap) stop(t *testing.T, proof string) string {
	t.Helper()
	if !testutil.Eventually(3*time.Second, func() bool { return strings.Contains(c.out.String(), proof) }) {
		t.Fatalf("the capture saw no %q, so it proves nothing:\n%s", proof, c.out.String())
	}
	_ = c.proc.Signal(syscall.SIGINT)
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(c.out.String(), " captured") }) {
		t.Fatalf("tcpdump did not stop:\n%s", c.out.String())
	}
	var lines []string
	for _, l := range strings.Split(c.out.String(), "\n") {
		// Packet lines start with a timestamp; the rest is tcpdump's own chatter.
		if len(l) > 2 && l[0] >= '0' && l[0] <= '9' && l[2] == ':' {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// xdpConn is a keep-alive HTTP connection from the client to the VIP.
type xdpConn struct {
	conn   net.Conn
	r      *bufio.Reader
	server string // the real server that answered its first request
}

// xdpDial opens a TCP connection to vip's port 80 from the client's namespace.
func xdpDial(t *testing.T, client *testutil.Host, vip string) *xdpConn {
	t.Helper()
	var c net.Conn
	err := client.Do(func() error {
		var err error
		// The socket is created on this thread, in the client's namespace, and stays there.
		c, err = net.DialTimeout("tcp", net.JoinHostPort(vip, "80"), 3*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("connecting to the VIP: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &xdpConn{conn: c, r: bufio.NewReader(c)}
}

// get sends GET / on the connection and returns the body: the name of the real server.
func (c *xdpConn) get(t *testing.T) string {
	t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c.conn, "GET / HTTP/1.1\r\nHost: "+xdpVIP+"\r\n\r\n"); err != nil {
		t.Fatalf("flow %s: sending a request: %v", c.conn.LocalAddr(), err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("flow %s: reading the response: %v", c.conn.LocalAddr(), err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("flow %s: status %d, body %q, %v", c.conn.LocalAddr(), resp.StatusCode, body, err)
	}
	return strings.TrimSpace(string(body))
}

func (c *xdpConn) close() { c.conn.Close() }
