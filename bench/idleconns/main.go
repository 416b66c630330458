// Command idleconns measures the memory an L4 proxy needs per idle connection: it starts
// a real server (a second copy of itself with -serve), starts the proxy command given
// after the flags, reads the proxy's RSS, opens -n connections through it (each gets a
// 5-byte greeting from the real server, then stays idle), and reads the RSS again.
//
//	idleconns -n 9900 -- /tmp/govs-proxy -l {LISTEN} -b {BACKEND}
//
// {LISTEN} and {BACKEND} in the command are replaced by the addresses chosen. Loopback only;
// every process it starts is stopped by PID before it exits.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 10000, "idle connections to open")
	serve := flag.String("serve", "", "internal: run as the real server on this address")
	flag.Parse()
	raiseNofile(*n)
	if *serve != "" {
		fmt.Fprintln(os.Stderr, "idleconns -serve:", runServer(*serve))
		os.Exit(1)
	}
	if err := run(*n, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
}

// raiseNofile lifts the descriptor limit, which children inherit, so that the proxy can
// hold two descriptors for each of n connections: as root, hard and soft to what that
// needs (a host's default hard limit is often below it); otherwise the soft one to the hard.
func raiseNofile(n int) {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return
	}
	if need := uint64(2*n + 1024); r.Max < need {
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: need, Max: need}) == nil {
			return
		}
	}
	r.Cur = r.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// runServer greets every connection and keeps it open until the peer closes it. It
// returns only when accepting fails, with the reason.
func runServer(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		io.WriteString(c, "hello")
		go func() {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListen(addr string) error {
	for i := 0; i < 200; i++ {
		if c, err := net.DialTimeout("tcp", addr, 50*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

func rssKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.Fields(rest)[0])
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func start(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return cmd, cmd.Start()
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func run(n int, proxyCmd []string) error {
	if len(proxyCmd) == 0 {
		return fmt.Errorf("give the proxy command after --")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(2*n+64) {
		return fmt.Errorf("the descriptor limit is %d and cannot be raised here; the proxy needs two per connection: use -n %d or less",
			lim.Cur, (lim.Cur-64)/2)
	}
	backend, err := freePort()
	if err != nil {
		return err
	}
	listen, err := freePort()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv, err := start(self, "-serve", backend)
	if err != nil {
		return err
	}
	defer stop(srv)
	if err := waitListen(backend); err != nil {
		return err
	}
	args := make([]string, len(proxyCmd))
	for i, a := range proxyCmd {
		args[i] = strings.NewReplacer("{LISTEN}", listen, "{BACKEND}", backend).Replace(a)
	}
	px, err := start(args[0], args[1:]...)
	if err != nil {
		return err
	}
	defer stop(px)
	if err := waitListen(listen); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	before, err := rssKiB(px.Process.Pid)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	buf := make([]byte, 5)
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", listen, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil {
			return fmt.Errorf("connection %d: greeting: %w", i, err)
		}
	}
	time.Sleep(2 * time.Second)
	after, err := rssKiB(px.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("connections\t%d\nrss_before_kib\t%d\nrss_after_kib\t%d\nkib_per_conn\t%.2f\n",
		n, before, after, float64(after-before)/float64(n))
	return nil
}
