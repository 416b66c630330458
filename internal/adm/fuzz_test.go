package adm

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzParse: no argv makes the parser panic, and every failure is an *Error with
// ipvsadm's exit status.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0",
		"-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 3 -x 10 -y 5",
		"-a -f 2 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-csum",
		"-L -n --stats --exact -t 10.0.0.1:80",
		"--start-daemon master --mcast-interface eth0 --mcast-group ff02::1 --syncid 5",
		"--set 1 2 3", "-Ln", "-s=rr", "--", "-6", "-A -f 7 -6 -s wlc -b flag-1,flag-3",
	} {
		f.Add(strings.ReplaceAll(s, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, "\x00")
		if len(argv) > 64 {
			argv = argv[:64]
		}
		cmd, err := Parse("ipvsadm", argv, &Names{})
		if err != nil {
			pe, ok := err.(*Error)
			if !ok || (pe.Code != 2 && pe.Code != 255) || pe.Msg == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if cmd.Op == OpNone {
			t.Fatal("no command")
		}
	})
}

// FuzzRun: any argv and -R input, run against a model, ends with an ipvsadm exit status
// and never panics or hangs; the listing after it still prints.
func FuzzRun(f *testing.F) {
	f.Add("-R", "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n-Z\n-L -n --rate\n")
	f.Add("-R", "-A -f 1 -p\n-a -f 1 -r 10.0.0.2:8 -i --tun-type gre\n-S\n--set 5 5 5\n-C\n")
	f.Add("-A\x00-u\x00[::1]:53\x00-o", "")
	f.Fuzz(func(t *testing.T, args, stdin string) {
		if len(stdin) > 1<<14 {
			stdin = stdin[:1<<14]
		}
		m := NewModel(ModelOptions{SyncInterface: func(string) bool { return true }})
		var out bytes.Buffer
		env := Env{Prog: "ipvsadm", Backend: m, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out}
		done := make(chan int, 1)
		go func() { done <- Run(env, strings.Split(args, "\x00")) }()
		select {
		case code := <-done:
			if code != 0 && code != 1 && code != 2 && code != 255 {
				t.Fatalf("exit status %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
		out.Reset()
		Run(Env{Prog: "ipvsadm", Backend: m, Stdout: &out, Stderr: &out}, []string{"-L", "-n", "--tun-info"})
	})
}

// FuzzNames: /etc/hosts and /etc/services parsing never panics.
func FuzzNames(f *testing.F) {
	f.Add("127.0.0.1 localhost\n::1 ip6-localhost # c\nfe80::1%eth0 x\n", "http 80/tcp www\nbad\nx 70000/udp\n")
	f.Fuzz(func(t *testing.T, hosts, services string) {
		var n Names
		_ = n.ParseHosts(strings.NewReader(hosts))
		_ = n.ParseServices(strings.NewReader(services))
	})
}
