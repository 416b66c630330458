package web

import (
	"strings"
	"testing"
)

func TestParseListenAddr(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "9100", want: "127.0.0.1:9100"},
		{in: "0", want: "127.0.0.1:0"},
		{in: "127.0.0.1:9100", want: "127.0.0.1:9100"},
		{in: "[::1]:9100", want: "[::1]:9100"},
		{in: "localhost:9100", want: "localhost:9100"},
		{in: "0.0.0.0:9100", want: "0.0.0.0:9100"},
		{in: "[::]:9100", want: "[::]:9100"},
		{in: "192.0.2.1:80", want: "192.0.2.1:80"},
		{in: "", err: "empty address"},
		{in: ":9100", err: "no address: write 127.0.0.1:9100 for this host only, or 0.0.0.0:9100"},
		{in: "9100x", err: `port "9100x": want 0..65535`},
		{in: "65536", err: `port "65536"`},
		{in: "127.0.0.1:http", err: `port "http"`},
		{in: "example.com:80", err: `address "example.com": want an IP address or localhost`},
		{in: "127.0.0.1", err: "no port: want IP:PORT"},
		{in: "[::1", err: "want PORT, IP:PORT"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseListenAddr(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzParseListenAddr(f *testing.F) {
	for _, s := range []string{"9100", ":80", "[::1]:0", "0.0.0.0:9100", "localhost:1", "[fe80::1%eth0]:80", "1.2.3.4:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := ParseListenAddr(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--http") {
				t.Fatalf("error %q does not name the flag", err)
			}
			return
		}
		// What it accepts it accepts again unchanged, and it always has a host.
		again, err := ParseListenAddr(addr)
		if err != nil || again != addr || strings.HasPrefix(addr, ":") {
			t.Fatalf("%q -> %q -> %q, %v", s, addr, again, err)
		}
	})
}

func FuzzDecodeAdmin(f *testing.F) {
	for _, s := range []string{`{"service":"TCP 1.2.3.4:80","server":"1.2.3.4:81","weight":3}`, `{`, `[]`, `{"weight":1e99}`, `null`, `{"service":"FWM 1","server":"[::1]:0"} x`} {
		f.Add(s, uint8(0))
	}
	actions := []Action{ActionDrain, ActionWeight, ActionEnable}
	f.Fuzz(func(t *testing.T, body string, a uint8) {
		op, err := decodeAdmin(strings.NewReader(body), actions[int(a)%len(actions)])
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !op.Server.IsValid() || (op.Service.FWMark == 0 && !op.Service.Addr.IsValid()) || op.Weight < 0 {
			t.Fatalf("accepted %q as %+v", body, op)
		}
	})
}
