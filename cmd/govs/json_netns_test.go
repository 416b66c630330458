package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

const jsonConf = `vrrp_script chk {
  script "/bin/true"
  interval 1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 71
  priority 100
  advert_int 1
  nopreempt
  state BACKUP
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.61.0.100/24
    10.61.0.101/24 dev eth1 label eth1:x
  }
  virtual_ipaddress_excluded {
    2001:db8:61::100/64
    2001:db8:61::101/128
  }
  virtual_routes {
    10.80.0.0/16 via 10.61.0.254 dev eth0 mtu 1300 table 100 metric 5
    10.83.0.0/24 via 10.61.0.254 dev eth0 table 100 metric 7 mtu lock 1400 advmss 1360 rtt 100ms rttvar 50ms initcwnd 10 window 65535 features ecn congctl cubic rto_min 300ms
    10.84.0.0/24 dev eth0 scope link tos 0x10 realms 3/4 onlink
    blackhole 10.85.0.0/24
    10.86.0.0/24 nexthop via 10.61.0.250 dev eth0 weight 2 nexthop via 10.62.0.250 dev eth1
    2001:db8:70::/64 via 2001:db8:61::254 dev eth0 metric 5 append
  }
  virtual_rules {
    from 10.81.0.0/16 table 100 priority 200
    not from 10.82.0.0/16 fwmark 5 table 101 priority 201
    from 10.87.0.0/16 fwmark 0x5/0xff iif eth0 goto 210 priority 202
    uidrange 1000-2000 ipproto tcp dport 80-90 blackhole priority 203
    from 2001:db8:71::/48 table 100 priority 204 no_track
    to 10.88.0.0/16 nop
  }
  track_interface {
    eth1
  }
  track_script {
    chk
  }
  notify_master "/bin/echo master"
  notify "/usr/bin/logger x"
  garp_master_refresh 30
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 72
  priority 150
  advert_int 0.5
  version 3
  preempt_delay 2
  virtual_ipaddress {
    10.61.0.102/24
  }
}
`

// kaInstance is one instance of keepalived's JSON dump.
type kaInstance struct {
	Data  map[string]any    `json:"data"`
	Stats map[string]uint64 `json:"stats"`
}

// TestKeepalivedJSON: the JSON signal (36) makes govs write the file keepalived's
// SIGJSON writes, with the same objects, keys in the same order and the same values
// for the same configuration (but the time of the last transition and the counters);
// STATS_CLEAR (63) zeroes the counters in both.
func TestKeepalivedJSON(t *testing.T) {
	h := keepalivedHost(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(jsonConf), 0o600); err != nil {
		t.Fatal(err)
	}
	masters := func() bool {
		out, _ := h.Exec("ip", "-4", "addr", "show")
		return strings.Contains(out, "10.61.0.100/24") && strings.Contains(out, "10.61.0.102/24")
	}
	// dump runs a daemon until both instances are master, signals it (its VRRP
	// process's pid is in pidFile) and returns the file it wrote.
	dump := func(name, pidFile, file string, args ...string) []byte {
		cmd, logs := h.Start(args[0], args[1:]...)
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			testutil.Eventually(10*time.Second, func() bool { return !masters() })
		}()
		if !testutil.Eventually(15*time.Second, masters) {
			t.Fatalf("%s: the instances did not become master:\n%s", name, logs.String())
		}
		b, err := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == 0 {
			t.Fatalf("%s: pid file: %v %q", name, err, b)
		}
		if err := syscall.Kill(pid, 36); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if !testutil.Eventually(5*time.Second, func() bool { got, err = os.ReadFile(file); return err == nil && len(got) > 0 }) {
			t.Fatalf("%s wrote no %s:\n%s", name, file, logs.String())
		}
		// STATS_CLEAR zeroes the counters: the next dump counts from there.
		os.Remove(file)
		if err := syscall.Kill(pid, 63); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := syscall.Kill(pid, 36); err != nil {
			t.Fatal(err)
		}
		var again []kaInstance
		if !testutil.Eventually(5*time.Second, func() bool { b, err := os.ReadFile(file); return err == nil && json.Unmarshal(b, &again) == nil }) {
			t.Fatalf("%s wrote no second %s:\n%s", name, file, logs.String())
		}
		for _, in := range again {
			if in.Stats["become_master"] != 0 || in.Stats["advert_sent"] > 5 {
				t.Errorf("%s: %v after STATS_CLEAR: %v", name, in.Data["iname"], in.Stats)
			}
		}
		return got
	}
	ka := dump("keepalived", filepath.Join(dir, "v.pid"), filepath.Join(dir, "keepalived.json"), "env", "TMPDIR="+dir, "keepalived", "-n", "-l", "-D", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid"))
	gv := dump("govs", filepath.Join(dir, "govs.pid"), filepath.Join(dir, "govs.json"), testutil.GovsBinary(t), "run", "--dataplane", "proxy", "-f", conf,
		"--socket", filepath.Join(dir, "govs.sock"), "-p", filepath.Join(dir, "govs.pid"), "--json-file", filepath.Join(dir, "govs.json"))

	keys := regexp.MustCompile(`"([a-z_]+)":`)
	if k, g := keys.FindAllString(string(ka), -1), keys.FindAllString(string(gv), -1); !reflect.DeepEqual(k, g) {
		t.Errorf("keys differ:\ngovs       %q\nkeepalived %q", g, k)
	}
	var kaInst, gvInst []kaInstance
	if err := json.Unmarshal(ka, &kaInst); err != nil {
		t.Fatalf("keepalived's JSON: %v\n%s", err, ka)
	}
	if err := json.Unmarshal(gv, &gvInst); err != nil {
		t.Fatalf("govs's JSON: %v\n%s", err, gv)
	}
	if len(gvInst) != len(kaInst) {
		t.Fatalf("%d instances, keepalived %d", len(gvInst), len(kaInst))
	}
	for n := range kaInst {
		k, g := kaInst[n], gvInst[n]
		for key, want := range k.Data {
			if key != "last_transition" && !reflect.DeepEqual(g.Data[key], want) {
				t.Errorf("%v %s: govs %v, keepalived %v", k.Data["iname"], key, g.Data[key], want)
			}
		}
		if lt, _ := g.Data["last_transition"].(float64); time.Since(time.Unix(int64(lt), 0)) > time.Minute {
			t.Errorf("%v last_transition %v is not a recent time", k.Data["iname"], g.Data["last_transition"])
		}
		if g.Stats["become_master"] != 1 || g.Stats["advert_sent"] == 0 || g.Stats["release_master"] != 0 {
			t.Errorf("%v stats %v", k.Data["iname"], g.Stats)
		}
	}
}
