package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/testutil"
)

// nginxBackend is one nginx process serving HTTP real servers on loopback ports: each
// answers "/" with its name, "/big" with a file of bigSize bytes, and, for proxyProto
// servers, "/" with the client address the PROXY header carried. udp servers answer any
// datagram with their name (stream module).
type nginxBackend struct {
	cmd   *exec.Cmd
	addrs []netip.AddrPort // HTTP servers, in the order of names
	udp   []netip.AddrPort
}

const bigSize = 8 << 20

type nginxOpts struct {
	names      []string // one HTTP server each
	proxyProto bool     // the HTTP servers expect a PROXY header
	udpNames   []string // one UDP stream server each
}

func startNginx(t *testing.T, o nginxOpts) *nginxBackend {
	t.Helper()
	testutil.Integration(t)
	bin := testutil.NeedCommand(t, "nginx")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "big"), bytes.Repeat([]byte("x"), bigSize), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &nginxBackend{}
	var conf strings.Builder
	if len(o.udpNames) > 0 {
		mod := "/usr/lib/nginx/modules/ngx_stream_module.so"
		_, err := os.Stat(mod)
		testutil.Need(t, err == nil, "nginx stream module (libnginx-mod-stream)")
		fmt.Fprintf(&conf, "load_module %s;\n", mod)
	}
	fmt.Fprintf(&conf, "error_log %s/error.log;\npid %s/nginx.pid;\nuser root;\nworker_rlimit_nofile 4096;\n", dir, dir)
	fmt.Fprintf(&conf, "events { worker_connections 2048; }\nhttp {\n access_log off;\n client_body_temp_path %s;\n proxy_temp_path %s;\n", dir, dir)
	pp := ""
	if o.proxyProto {
		pp = " proxy_protocol"
	}
	for _, name := range o.names {
		addr := freeAddr(t, "tcp", "127.0.0.1")
		b.addrs = append(b.addrs, addr)
		body := name
		if o.proxyProto {
			body = "$proxy_protocol_addr:$proxy_protocol_port"
		}
		fmt.Fprintf(&conf, " server { listen %s%s; location / { return 200 \"%s\\n\"; } location /big { root %s/www; } }\n", addr, pp, body, dir)
	}
	conf.WriteString("}\n")
	if len(o.udpNames) > 0 {
		conf.WriteString("stream {\n")
		for _, name := range o.udpNames {
			addr := freeAddr(t, "udp", "127.0.0.1")
			b.udp = append(b.udp, addr)
			fmt.Fprintf(&conf, " server { listen %s udp; return \"%s\"; }\n", addr, name)
		}
		conf.WriteString("}\n")
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(bin, "-p", dir, "-c", path, "-g", "daemon off; master_process off;")
	var stderr bytes.Buffer
	b.cmd.Stderr = &stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.kill)
	for _, a := range b.addrs {
		eventually(t, "nginx listening on "+a.String(), func() bool {
			c, err := net.DialTimeout("tcp", a.String(), 100*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	if len(b.addrs) == 0 {
		time.Sleep(300 * time.Millisecond) // UDP only: nothing to dial
	}
	return b
}

// kill stops the nginx this test started, by its PID.
func (b *nginxBackend) kill() {
	if b.cmd.Process == nil || b.cmd.ProcessState != nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	_ = b.cmd.Wait()
}

// get fetches url over a new connection and returns the body.
func get(url string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return strings.TrimSpace(string(body)), err
}

func httpService(vip netip.AddrPort, sched string, dests []netip.AddrPort) table.Service {
	return tcpService(vip, sched, dests...)
}

// TestNginxDistributionUnderLoad: wrk through the proxy to three nginx real servers;
// no errors, and rr spreads the connections evenly.
func TestNginxDistributionUnderLoad(t *testing.T) {
	ng := startNginx(t, nginxOpts{names: []string{"a", "b", "c"}})
	wrk := testutil.NeedCommand(t, "wrk")
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := httpService(vip, "rr", ng.addrs)
	apply(t, p, svc)

	out, err := exec.Command(wrk, "-t1", "-c8", "-d2s", "-H", "Connection: close", "http://"+vip.String()+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`Socket errors|Non-2xx`).Find(out); m != nil {
		t.Fatalf("wrk saw errors:\n%s", out)
	}
	reqs := regexp.MustCompile(`(\d+) requests in`).FindSubmatch(out)
	if reqs == nil {
		t.Fatalf("no request count in wrk output:\n%s", out)
	}
	n, _ := strconv.Atoi(string(reqs[1]))
	var conns []uint64
	var total uint64
	for _, a := range ng.addrs {
		c := destStats(t, p, svc.ServiceKey, a).Conns
		conns = append(conns, c)
		total += c
	}
	// wrk counts only completed requests; connections it opened in the last moments
	// (a few per concurrent connection at most) are counted by the proxy too.
	if total < uint64(n) || total > uint64(n)+32 {
		t.Fatalf("Conns total %d for %d requests (+ at most 32 cut off by wrk's end)", total, n)
	}
	for _, c := range conns {
		if d := int64(c) - int64(total)/3; d < -1 || d > 1 {
			t.Fatalf("rr distribution %v: each should be within 1 of %d", conns, total/3)
		}
	}
	t.Logf("wrk: %d requests, per real server %v", n, conns)
}

// TestNginxPersistence: with persistence every connection of one client goes to the same
// real server; another client address may go elsewhere, and sticks too.
func TestNginxPersistence(t *testing.T) {
	ng := startNginx(t, nginxOpts{names: []string{"a", "b", "c"}})
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := httpService(vip, "rr", ng.addrs)
	svc.Persistence.Timeout = time.Minute
	apply(t, p, svc)
	for _, src := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext,
		}}
		first := ""
		for i := 0; i < 10; i++ {
			resp, err := client.Get("http://" + vip.String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			who := strings.TrimSpace(string(b))
			if first == "" {
				first = who
			} else if who != first {
				t.Fatalf("client %s went to %s then %s despite persistence", src, first, who)
			}
		}
	}
	var persist uint64
	for _, d := range p.Stats().Services[0].Dests {
		persist += d.PersistConn
	}
	if persist != 3 {
		t.Fatalf("PersistConn total %d, want 3 templates", persist)
	}
}

// TestNginxKilledBackend: killing a real server costs new connections nothing: each
// is redispatched to a live server.
func TestNginxKilledBackend(t *testing.T) {
	live := startNginx(t, nginxOpts{names: []string{"live"}})
	doomed := startNginx(t, nginxOpts{names: []string{"doomed"}})
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	apply(t, p, httpService(vip, "rr", []netip.AddrPort{live.addrs[0], doomed.addrs[0]}))
	url := "http://" + vip.String() + "/"
	seen := map[string]int{}
	for i := 0; i < 200; i++ {
		if i == 50 {
			doomed.kill()
		}
		who, err := get(url)
		if err != nil {
			t.Fatalf("request %d failed: %v", i, err)
		}
		seen[who]++
	}
	if seen["doomed"] == 0 || seen["doomed"] > 50 || seen["live"] < 150 {
		t.Fatalf("requests per server %v: want the doomed one only before it died", seen)
	}
}

// TestNginxDrain: a real server set to weight 0 mid-transfer finishes the transfer and
// gets no new connections.
func TestNginxDrain(t *testing.T) {
	ng := startNginx(t, nginxOpts{names: []string{"a", "b"}})
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := httpService(vip, "rr", ng.addrs)
	apply(t, p, svc)

	// Start slow downloads until one is on a; read it slowly while a is quiesced.
	var onA *http.Response
	for i := 0; i < 2 && onA == nil; i++ {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + vip.String() + "/big")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if destStats(t, p, svc.ServiceKey, ng.addrs[0]).ActiveConn == 1 {
			onA = resp
		} else {
			go io.Copy(io.Discard, resp.Body)
		}
	}
	if onA == nil {
		t.Fatal("no download landed on a")
	}
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(onA.Body, head); err != nil {
		t.Fatal(err)
	}
	svc.Dests[0].Weight = 0
	apply(t, p, svc)
	for i := 0; i < 6; i++ {
		if who, err := get("http://" + vip.String() + "/"); err != nil || who != "b" {
			t.Fatalf("new request %d during drain: %q %v", i, who, err)
		}
	}
	n, err := io.Copy(io.Discard, onA.Body)
	if err != nil || n+int64(len(head)) != bigSize {
		t.Fatalf("draining transfer: %d of %d bytes, %v", n+int64(len(head)), bigSize, err)
	}
}

// TestNginxProxyProtocol: nginx, listening with proxy_protocol, reports the client's
// address and port from the header govs sent.
func TestNginxProxyProtocol(t *testing.T) {
	ng := startNginx(t, nginxOpts{names: []string{"pp"}, proxyProto: true})
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			p := newPlane(t)
			vip := freeAddr(t, "tcp", "127.0.0.1")
			svc := httpService(vip, "rr", ng.addrs)
			svc.ProxyProto = v
			apply(t, p, svc)
			c, err := net.Dial("tcp", vip.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
			resp, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.LocalAddr().String() + "\n"; !strings.HasSuffix(string(resp), want) {
				t.Fatalf("nginx saw the client as %q, want %q", resp, want)
			}
		})
	}
}

// TestNginxUDP: datagrams through the proxy reach nginx stream UDP servers, replies come
// back, and each client's flow is scheduled once.
func TestNginxUDP(t *testing.T) {
	ng := startNginx(t, nginxOpts{udpNames: []string{"u1", "u2"}})
	p := newPlane(t)
	vip := freeAddr(t, "udp", "127.0.0.1")
	svc := httpService(vip, "rr", ng.udp)
	svc.ServiceKey.Protocol = table.UDP
	apply(t, p, svc)
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		c, err := net.Dial("udp", vip.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprint(c, "hello")
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		seen[string(buf[:n])] = true
	}
	if !seen["u1"] || !seen["u2"] {
		t.Fatalf("replies %v, want both UDP servers", seen)
	}
}
