package web

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParseListenAddr reads the --http value: "PORT" (on 127.0.0.1), "IP:PORT",
// "[IPv6]:PORT" or "localhost:PORT". A missing host (":9100") is refused rather than
// taken to mean every address: the API exposes the health of the whole site, so
// listening beyond this host must be asked for by name (0.0.0.0:9100 or [::]:9100).
// Port 0 picks a free port.
func ParseListenAddr(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("--http: empty address: want PORT, IP:PORT or [IPv6]:PORT")
	}
	if !strings.ContainsAny(s, ":[]") {
		if _, err := netip.ParseAddr(s); err == nil {
			return "", fmt.Errorf("--http %q: no port: want IP:PORT", s)
		}
		port, err := parsePort(s)
		if err != nil {
			return "", fmt.Errorf("--http %q: %w", s, err)
		}
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("--http %q: want PORT, IP:PORT or [IPv6]:PORT", s)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return "", fmt.Errorf("--http %q: %w", s, err)
	}
	switch {
	case host == "":
		return "", fmt.Errorf("--http %q: no address: write 127.0.0.1:%s for this host only, or 0.0.0.0:%s or [::]:%s to listen on every address", s, port, port, port)
	case host == "localhost":
		return net.JoinHostPort(host, port), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("--http %q: address %q: want an IP address or localhost", s, host)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

func parsePort(s string) (string, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return "", fmt.Errorf("port %q: want 0..65535", s)
	}
	return strconv.FormatUint(n, 10), nil
}
