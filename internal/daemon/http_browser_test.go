package daemon

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/testutil"
)

// browserConfig checks every 2 s and takes a server out at its first failed probe.
func browserConfig(vport int, rs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual_server 127.0.0.1 %d {\n  delay_loop %d\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", vport, int(browserCheckInterval.Seconds()))
	for _, a := range rs {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&b, "  real_server %s %s {\n    weight 1\n    HTTP_GET {\n      url {\n        path /health\n        status_code 200\n      }\n      connect_timeout 1\n      retry 0\n    }\n  }\n", host, port)
	}
	b.WriteString("}\n")
	return b.String()
}

const (
	browserCheckInterval = 2 * time.Second
	dashboardRefresh     = 250 * time.Millisecond
)

// TestDashboardShowsAFailure loads the dashboard of a running govs over two nginx real
// servers in headless Chromium, stops one nginx, and checks in the live page's DOM
// and in a screenshot that its row turns red within the check interval. The
// screenshots are kept under $GOVS_ARTIFACTS (default: the system's temp dir).
func TestDashboardShowsAFailure(t *testing.T) {
	testutil.Integration(t)
	chromium := testutil.NeedCommand(t, "chromium")
	const nginxServer = `server { listen 127.0.0.1:{{.Port}}; location / { return 200 "real server {{.Port}}\n"; } }`
	ng1, ng2 := checktest.StartNginx(t, nginxServer), checktest.StartNginx(t, nginxServer)
	rs1, rs2 := fmt.Sprintf("127.0.0.1:%d", ng1.Port), fmt.Sprintf("127.0.0.1:%d", ng2.Port)
	r := startDaemonAt(t, "browser-t0ken", browserConfig, rs1, rs2)

	b := startBrowser(t, chromium)
	// The token in the URL becomes a cookie; the page then polls with it.
	b.call(t, "Page.navigate", map[string]any{"url": fmt.Sprintf("%s/?refresh=%d&token=%s", r.base, dashboardRefresh.Milliseconds(), r.token)})
	rowState := func(addr string) string {
		return b.eval(t, fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-server=%q]');
			return r ? r.dataset.health + "|" + r.className + "|" + r.querySelector(".health").textContent + "|" + getComputedStyle(r).backgroundColor : "absent"; })()`, addr))
	}
	waitFor(t, 15*time.Second, "both real servers up on the dashboard", func() (bool, string) {
		s1, s2 := rowState(rs1), rowState(rs2)
		return strings.HasPrefix(s1, "up|") && strings.HasPrefix(s2, "up|"), s1 + " / " + s2
	})
	dir := artifactDir(t)
	before := b.screenshot(t, filepath.Join(dir, "dashboard-before.png"))

	stopped := time.Now()
	ng2.Stop()
	waitFor(t, 3*browserCheckInterval, rs2+" red on the dashboard", func() (bool, string) {
		s := rowState(rs2)
		return strings.HasPrefix(s, "down|"), s
	})
	elapsed := time.Since(stopped)
	t.Logf("the dashboard showed %s down %.2f s after nginx stopped (check interval %v, page refresh %v)", rs2, elapsed.Seconds(), browserCheckInterval, dashboardRefresh)
	if limit := browserCheckInterval + dashboardRefresh + 750*time.Millisecond; elapsed > limit {
		t.Errorf("red after %v, want within the check interval (%v, with the refresh and slack: %v)", elapsed, browserCheckInterval, limit)
	}
	if s := rowState(rs2); s != "down|rs-down|DOWN|rgb(253, 228, 227)" {
		t.Errorf("stopped server's row = %q, want class rs-down, DOWN on the red background", s)
	}
	if s := rowState(rs1); !strings.HasPrefix(s, "up|rs-up|up|") {
		t.Errorf("live server's row = %q, want it still up", s)
	}
	if ev := b.eval(t, `document.querySelector('#events li[data-kind="rs-down"]')?.textContent || ""`); !strings.Contains(ev, rs2) {
		t.Errorf("no rs-down event naming %s on the page: %q", rs2, ev)
	}
	after := b.screenshot(t, filepath.Join(dir, "dashboard-after.png"))
	// The screenshot shows it too: the down row's background appears only after.
	red := func(img []byte) int { return countColor(t, img, 253, 228, 227) }
	if n, m := red(before), red(after); n != 0 || m < 2000 {
		t.Errorf("red background pixels: %d before, %d after; want none, then a row of them", n, m)
	}
	t.Logf("screenshots in %s", dir)
}

// artifactDir is where a test keeps files for a person to look at after it ends.
func artifactDir(t *testing.T) string {
	root := os.Getenv("GOVS_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "govs-artifacts")
	}
	dir := filepath.Join(root, t.Name()+"-"+time.Now().Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func countColor(t *testing.T, data []byte, r, g, b uint8) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	ws *websocket.Conn
	id int
}

// startBrowser starts Chromium on a fresh profile with DevTools on a free loopback
// port, and connects to its first page.
func startBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	profile := t.TempDir()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--remote-allow-origins=http://127.0.0.1", "--window-size=1300,900", "about:blank")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// Chromium writes the port it took into the profile.
	var port int
	if !testutil.Eventually(30*time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		line, _, _ := bufio.NewReader(bytes.NewReader(data)).ReadLine()
		port, err = strconv.Atoi(string(line))
		return err == nil && port > 0
	}) {
		t.Fatalf("chromium did not open DevTools within 30 s:\n%s", out.String())
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DevTools targets: %d %v", resp.StatusCode, err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			cfg, err := websocket.NewConfig(tg.WebSocketDebuggerURL, "http://127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			ws, err := websocket.DialConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ws.Close() })
			return &browser{ws: ws}
		}
	}
	t.Fatalf("no page among the DevTools targets %+v", targets)
	return nil
}

// call sends one command and waits (bounded) for its answer, skipping events.
func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.id++
	if err := b.ws.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": b.id, "method": method, "params": params}); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	for range 10000 {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if msg.ID != b.id {
			continue
		}
		if msg.Error != nil {
			t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
	t.Fatalf("%s: no answer among 10000 messages", method)
	return nil
}

// eval runs a JavaScript expression in the page and returns its value as a string.
func (b *browser) eval(t *testing.T, expr string) string {
	t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &res); err != nil {
		t.Fatal(err)
	}
	if res.Result.Value == nil {
		return ""
	}
	return fmt.Sprint(res.Result.Value)
}

// screenshot saves the page as a PNG at path and returns it.
func (b *browser) screenshot(t *testing.T, path string) []byte {
	t.Helper()
	var res struct{ Data string }
	if err := json.Unmarshal(b.call(t, "Page.captureScreenshot", map[string]any{"format": "png"}), &res); err != nil {
		t.Fatal(err)
	}
	img, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}
