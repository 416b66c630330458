package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakLoad is what TestNginxSoak runs through the plane at once: keep-alive clients
// (nginx closes each after its keepalive_requests, so they reconnect now and then),
// a new connection per request with the real server closing first, and keep-alive
// downloads of the 8 MiB file, whose writes fill the socket buffers and leave data
// pending in the plane.
type soakLoad struct {
	keepAlive, perRequest, bulk int
}

// soakResult is what the clients of a soak saw.
type soakResult struct {
	perSecond []int64 // completed requests in each whole second
	failures  []string
	dials     int64
}

// TestNginxSoak drives the plane for 20 s (5 s with -short) with 100 concurrent
// clients against two nginx real servers and fails if throughput drops to about zero
// for a whole second, if any request fails or times out, or if a connection is left
// open or counted active once every client has gone. A relay that loses a readiness
// edge or never writes pending data again shows up here as clients stuck until their
// deadline, and as connections the plane still holds at the end.
//
// The bulk-heavy run (10 s) keeps a dozen downloads going, so that directions switch
// to splice and back all the time while connections come and go; it caught a splice
// to a socket that returned short with room left being taken for a full socket (the
// transfer then waited for a writable edge that never came; about one run in three).
func TestNginxSoak(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		load soakLoad
	}{
		{"mixed", 20 * time.Second, soakLoad{keepAlive: 60, perRequest: 36, bulk: 4}},
		{"bulk-heavy", 10 * time.Second, soakLoad{keepAlive: 60, perRequest: 36, bulk: 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			if testing.Short() {
				d = 5 * time.Second
			}
			runSoak(t, d, tt.load)
		})
	}
}

func runSoak(t *testing.T, d time.Duration, load soakLoad) {
	ng := startNginx(t, nginxOpts{names: []string{"a", "b"}})
	p := newPlane(t)
	vip := freeAddr(t, "tcp", "127.0.0.1")
	svc := httpService(vip, "rr", ng.addrs)
	apply(t, p, svc)

	res := soak(vip, d, load)
	var total int64
	for _, n := range res.perSecond {
		total += n
	}
	t.Logf("%d requests in %v over %d connections; per second: %v", total, d, res.dials, res.perSecond)
	if len(res.failures) > 0 {
		t.Errorf("%d requests failed, first ones:\n%s", len(res.failures), joinFirst(res.failures, 10))
	}
	if len(res.perSecond) == 0 {
		t.Fatal("no whole second measured")
	}
	sorted := slices.Clone(res.perSecond)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	// "About zero": under 1% of the median. A busy shared machine slows every second
	// alike; a stall takes a second down to nothing.
	for i, n := range res.perSecond {
		if n*100 < median || n == 0 {
			t.Errorf("second %d: %d requests (median %d): the plane stalled", i+1, n, median)
		}
	}

	eventually(t, "every relayed connection closed", func() bool { return p.openConns() == 0 })
	for _, a := range ng.addrs {
		if st := destStats(t, p, svc.ServiceKey, a); st.ActiveConn != 0 {
			t.Errorf("%s: ActiveConn %d after every client closed", a, st.ActiveConn)
		}
	}
}

// soak runs load against vip for d and reports what the clients saw.
func soak(vip netip.AddrPort, d time.Duration, load soakLoad) soakResult {
	var (
		done      atomic.Int64
		dials     atomic.Int64
		mu        sync.Mutex
		failures  []string
		wg        sync.WaitGroup
		perSecond []int64
	)
	fail := func(kind string, err error) {
		mu.Lock()
		failures = append(failures, kind+": "+err.Error())
		mu.Unlock()
	}
	stop := time.Now().Add(d)
	// Each client runs until stop; after a failure it starts afresh on a new
	// connection, so one failure does not end its share of the load.
	client := func(kind string, n int, run func() error) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if err := run(); err != nil {
						fail(kind, err)
					}
				}
			}()
		}
	}
	client("keep-alive", load.keepAlive, func() error { return keepAliveClient(vip, "/", -1, stop, &done, &dials) })
	client("bulk", load.bulk, func() error { return keepAliveClient(vip, "/big", bigSize, stop, &done, &dials) })
	client("per-request", load.perRequest, func() error { return oneRequest(vip, &done, &dials) })
	// Sample whole seconds while the clients run; the last partial second is dropped.
	tick := time.NewTicker(time.Second)
	last := int64(0)
	for now := range tick.C {
		if now.After(stop) {
			break
		}
		n := done.Load()
		perSecond = append(perSecond, n-last)
		last = n
	}
	tick.Stop()
	wg.Wait()
	return soakResult{perSecond: perSecond, failures: failures, dials: dials.Load()}
}

// soakDeadline bounds every request of a soak: far beyond a normal answer (about a
// millisecond, 8 MiB in well under a second), short enough to fail a stalled relay.
const soakDeadline = 5 * time.Second

// keepAliveClient sends requests for path on one connection until stop or until the
// real server closes it. wantLen is the body length to expect, or -1 for any.
func keepAliveClient(vip netip.AddrPort, path string, wantLen int64, stop time.Time, done, dials *atomic.Int64) error {
	c, err := net.DialTimeout("tcp", vip.String(), soakDeadline)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	dials.Add(1)
	defer c.Close()
	br := bufio.NewReader(c)
	req := "GET " + path + " HTTP/1.1\r\nHost: soak\r\n\r\n"
	for time.Now().Before(stop) {
		if err := c.SetDeadline(time.Now().Add(soakDeadline)); err != nil {
			return err
		}
		if _, err := io.WriteString(c, req); err != nil {
			return fmt.Errorf("write request: %w", err)
		}
		keep, err := readResponse(br, wantLen)
		if err != nil {
			return err
		}
		done.Add(1)
		if !keep {
			return nil
		}
	}
	return nil
}

// oneRequest opens a connection, asks the real server to close it after answering,
// and checks that the close reaches the client: the body is followed by EOF.
func oneRequest(vip netip.AddrPort, done, dials *atomic.Int64) error {
	c, err := net.DialTimeout("tcp", vip.String(), soakDeadline)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	dials.Add(1)
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(soakDeadline)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n"); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	br := bufio.NewReader(c)
	if _, err := readResponse(br, -1); err != nil {
		return err
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the answer: read %d bytes, %v (want EOF: the real server's close relayed)", n, err)
	}
	done.Add(1)
	return nil
}

// readResponse reads one 200 response and its body; keep reports whether the
// connection stays open.
func readResponse(br *bufio.Reader, wantLen int64) (keep bool, err error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, fmt.Errorf("read response: %w", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return false, fmt.Errorf("read body after %d bytes: %w", n, err)
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("status %s", resp.Status)
	case wantLen >= 0 && n != wantLen:
		return false, fmt.Errorf("body of %d bytes, want %d", n, wantLen)
	}
	return !resp.Close, nil
}

func joinFirst(s []string, n int) string {
	out := ""
	for i, x := range s {
		if i == n {
			return out + fmt.Sprintf("… and %d more\n", len(s)-n)
		}
		out += x + "\n"
	}
	return out
}
