package sched

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func flowFrom(src string) Flow {
	if !strings.Contains(src, ":") {
		src += ":0"
	}
	return Flow{Proto: protoTCP, Src: ap(src), Dst: ap("192.168.10.100:80")}
}

// TestSourceHashVectors checks the derived vectors of reference/ipvs.md: bucket fill by
// weight and the modern hash_32.
func TestSourceHashVectors(t *testing.T) {
	dests := []*Dest{NewDest(ap("10.0.0.1:80"), 1), NewDest(ap("10.0.0.2:80"), 2), NewDest(ap("10.0.0.3:80"), 1)}
	for _, tc := range []struct {
		src    string
		flags  Flags
		bucket uint32
		want   int // index into dests
	}{
		{"192.0.2.1", 0, 50, 1},
		{"192.0.2.2", 0, 148, 0},
		{"198.51.100.7", 0, 171, 2},
		{"10.1.2.3", 0, 2, 1},
		{"192.0.2.1:40000", Flag2, 214, 1},
	} {
		t.Run(tc.src, func(t *testing.T) {
			s := mustNew(t, "sh", tc.flags).(*sourceHash)
			s.Update(dests)
			f := flowFrom(tc.src)
			if b := hash32(f.hashPort(tc.flags)+foldAddr(f.Src.Addr()), hashBits); b != tc.bucket {
				t.Errorf("bucket %d, want %d", b, tc.bucket)
			}
			if got := s.Pick(f); got != dests[tc.want] {
				t.Errorf("picked %v, want %v", addrOf(got), dests[tc.want].Addr)
			}
		})
	}
	s := mustNew(t, "sh", 0).(*sourceHash)
	s.Update(dests)
	var got []string
	for _, d := range s.table.Load().buckets[:8] {
		got = append(got, d.Addr.String())
	}
	want := "10.0.0.1:80 10.0.0.2:80 10.0.0.2:80 10.0.0.3:80 10.0.0.1:80 10.0.0.2:80 10.0.0.2:80 10.0.0.3:80"
	if strings.Join(got, " ") != want {
		t.Errorf("buckets 0..7 = %v, want %s", got, want)
	}
}

// TestMaglevVectors checks the derived vectors of reference/ipvs.md (64-bit SipHash-1-3).
func TestMaglevVectors(t *testing.T) {
	names := map[netip.AddrPort]string{ap("10.0.0.1:80"): "A", ap("10.0.0.2:80"): "B", ap("10.0.0.3:80"): "C"}
	for _, tc := range []struct {
		dest         string
		offset, skip uint32
	}{{"10.0.0.1:80", 3167, 700}, {"10.0.0.2:80", 1231, 3544}, {"10.0.0.3:80", 1631, 3453}} {
		a := ap(tc.dest)
		h := addrPortHash{fold: foldAddr(a.Addr()), port: uint32(a.Port())}
		if o, k := maglevHash(h, maglevKey1, 0)%4093, maglevHash(h, maglevKey2, 0)%4092+1; o != tc.offset || k != tc.skip {
			t.Errorf("%s: offset/skip %d/%d, want %d/%d", tc.dest, o, k, tc.offset, tc.skip)
		}
	}
	s := newMaglev(0, DefaultMaglevTableSize)
	s.Update([]*Dest{NewDest(ap("10.0.0.1:80"), 1), NewDest(ap("10.0.0.2:80"), 1), NewDest(ap("10.0.0.3:80"), 1)})
	slots := maglevSlots(s)
	var first []string
	count := map[string]int{}
	for i, a := range slots {
		if i < 12 {
			first = append(first, names[a])
		}
		count[names[a]]++
	}
	if got := strings.Join(first, " "); got != "A B B C C A B C C A A B" {
		t.Errorf("slots 0..11 = %s", got)
	}
	if count["A"] != 1365 || count["B"] != 1364 || count["C"] != 1364 {
		t.Errorf("slot counts %v, want A 1365 B 1364 C 1364", count)
	}
	for src, want := range map[string]string{"192.0.2.1": "C", "192.0.2.2": "B", "198.51.100.7": "A", "10.1.2.3": "A"} {
		if got := s.Pick(flowFrom(src)); names[got.Addr] != want {
			t.Errorf("%s -> %s, want %s", src, names[got.Addr], want)
		}
	}
}

// maglevDigest is a digest of the mh table for a fixed, larger destination set (IPv4 and
// IPv6, mixed weights).
func maglevDigest() string {
	var dests []*Dest
	for i := range 50 {
		dests = append(dests, NewDest(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 10), byte(i)}), 8080), 1+i%7))
		dests = append(dests, NewDest(ap(fmt.Sprintf("[2001:db8::%x]:443", i+1)), 1+i%3))
	}
	s := newMaglev(0, DefaultMaglevTableSize)
	s.Update(dests)
	h := sha256.New()
	for _, a := range maglevSlots(s) {
		h.Write([]byte(a.String() + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestMaglevSameAcrossProcesses: two directors build the same table without talking. A
// second process (this test binary again) builds it on its own and must print the same
// digest.
func TestMaglevSameAcrossProcesses(t *testing.T) {
	if os.Getenv("GOVS_SCHED_MAGLEV_CHILD") == "1" {
		fmt.Println("digest", maglevDigest())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMaglevSameAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GOVS_SCHED_MAGLEV_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "digest " + maglevDigest()
	if !strings.Contains(string(out), want) {
		t.Fatalf("child printed\n%s\nwant a line %q", out, want)
	}
}

// TestQuiescedAndOverloaded: for every scheduler, a weight-0 or overloaded destination gets
// no new connection, all weights 0 means no pick, and SetWeight takes effect without an
// Update.
func TestQuiescedAndOverloaded(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			dests := testDests(1, 0, 1, 1)
			s := mustNew(t, name, 0)
			s.Update(dests)
			dests[2].SetThresholds(1, 0)
			dests[2].Bind() // upper threshold reached: OVERLOAD
			if !dests[2].Overloaded() {
				t.Fatal("bind did not set OVERLOAD at the upper threshold")
			}
			dests[3].SetWeight(0) // quiesced at run time
			for i := range 64 {
				f := flowFrom(fmt.Sprintf("192.0.2.%d:%d", i, 1000+i))
				f.Dst = netip.AddrPortFrom(f.Src.Addr(), 80) // dh/lblc key on the destination
				d := s.Pick(f)
				if d == dests[1] || d == dests[2] || d == dests[3] {
					t.Fatalf("picked unavailable %s", addrOf(d))
				}
			}
			dests[0].SetWeight(0)
			if d := s.Pick(flowFrom("192.0.2.1")); d != nil {
				t.Fatalf("all quiesced or overloaded, picked %s", addrOf(d))
			}
			dests[2].Unbind(false) // total 0 < 3/4 of 1: OVERLOAD cleared
			if dests[2].Overloaded() {
				t.Fatal("unbind did not clear OVERLOAD")
			}
		})
	}
}

// TestThresholdHysteresis: above -x a destination is skipped until it falls below -y.
func TestThresholdHysteresis(t *testing.T) {
	d := NewDest(ap("10.0.0.1:80"), 1)
	d.UThreshold, d.LThreshold = 4, 2
	for range 4 {
		d.Bind()
	}
	steps := []struct {
		unbind bool
		want   bool
	}{{false, true}, {true, true}, {true, true}, {true, false}}
	for i, st := range steps {
		if st.unbind {
			d.Unbind(false)
		}
		if d.Overloaded() != st.want {
			t.Fatalf("step %d: total %d overloaded %v, want %v", i, d.Inactive(), d.Overloaded(), st.want)
		}
	}
	d.SetThresholds(3, 0)
	d.Bind()
	d.Bind() // total 3 >= 3
	if !d.Overloaded() {
		t.Fatal("want OVERLOAD at total 3")
	}
	d.SetThresholds(10, 0) // a larger upper threshold clears it, as ipvsadm -e does
	if d.Overloaded() {
		t.Fatal("raising the upper threshold must clear OVERLOAD")
	}
}

// TestSRT: the smoothed response time steers new connections to the fastest server,
// weighted by active connections and weight; an unmeasured server is tried first.
func TestSRT(t *testing.T) {
	dests := testDests(1, 1, 2)
	s := mustNew(t, "srt", 0)
	s.Update(dests)
	dests[0].ObserveLatency(4 * time.Millisecond)
	dests[1].ObserveLatency(1 * time.Millisecond)
	if got := s.Pick(Flow{}); got != dests[2] {
		t.Fatalf("picked %s, want the unmeasured one", addrOf(got))
	}
	dests[2].ObserveLatency(3 * time.Millisecond) // 3ms/2 = 1.5ms per unit of weight
	if got := s.Pick(Flow{}); got != dests[1] {
		t.Fatalf("picked %s, want the 1ms one", addrOf(got))
	}
	dests[1].Bind()
	dests[1].SetActive(true) // 2*1ms = 2ms > 1.5ms
	if got := s.Pick(Flow{}); got != dests[2] {
		t.Fatalf("picked %s, want the weight-2 3ms one", addrOf(got))
	}
	// The EWMA moves 1/8 of the way: 4ms then 0 gives 3.5ms.
	dests[0].ObserveLatency(0)
	if got := dests[0].Latency(); got != 3500*time.Microsecond {
		t.Fatalf("smoothed latency %v, want 3.5ms", got)
	}
}

// TestTwos: with the random draws fixed, twos takes the less loaded of the two draws, and
// a draw walks the available weights in list order (0 and 1 land on the first).
func TestTwos(t *testing.T) {
	dests := testDests(2, 0, 3)
	var draws []uint64
	s := newTwoChoices(func(n uint64) uint64 {
		if n != 6 { // total weight 5, drawn in [0, 5]
			t.Fatalf("draw range %d, want 6", n)
		}
		r := draws[0]
		draws = draws[1:]
		return r
	})
	s.Update(dests)
	for _, tc := range []struct {
		r1, r2 uint64
		want   int
	}{
		{0, 5, 0}, // equal overhead: the first draw
		{2, 3, 0}, // 2 is still the first (weight 2); 3 the third
		{3, 1, 2},
	} {
		draws = []uint64{tc.r1, tc.r2}
		if got := s.Pick(Flow{}); got != dests[tc.want] {
			t.Fatalf("draws %d,%d: picked %s, want dest %d", tc.r1, tc.r2, addrOf(got), tc.want)
		}
	}
	dests[0].Bind()
	dests[0].SetActive(true)
	draws = []uint64{0, 5}
	if got := s.Pick(Flow{}); got != dests[2] {
		t.Fatalf("picked %s, want the idle second draw", addrOf(got))
	}
}

// TestLocalityExpiry: lblc forgets a destination address idle for lblc_expiration (24 h),
// checked by the 30th 60-second tick, and keeps one in use.
func TestLocalityExpiry(t *testing.T) {
	dests := testDests(1, 1)
	s := mustNew(t, "lblc", 0).(*locality)
	s.Update(dests)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f := Flow{Dst: ap("192.168.20.1:80"), Now: t0}
	first := s.Pick(f)
	first.Bind()
	first.SetActive(true)
	f.Now = t0.Add(time.Minute)
	if got := s.Pick(f); got != first {
		t.Fatalf("cached destination not reused: %s", addrOf(got))
	}
	if len(s.entries) != 1 {
		t.Fatalf("%d entries, want 1", len(s.entries))
	}
	other := Flow{Dst: ap("192.168.20.2:80"), Now: t0.Add(25 * time.Hour)}
	s.Pick(other)
	if _, ok := s.entries[f.Dst.Addr()]; ok {
		t.Fatal("entry idle for 24h survived the full check")
	}
	if _, ok := s.entries[other.Dst.Addr()]; !ok {
		t.Fatal("fresh entry missing")
	}
}

// TestLBLCRSetShrinks: lblcr adds a replica when the cached set is overloaded and drops
// the most loaded one after lblcr_expiration without changes.
func TestLBLCRSetShrinks(t *testing.T) {
	dests := testDests(1, 1, 4)
	s := mustNew(t, "lblcr", 0).(*locality)
	s.Update(dests)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f := Flow{Dst: ap("192.168.20.1:80"), Now: t0}
	// d0 takes two connections, then counts as overloaded; d1 joins the set and takes one.
	for range 3 {
		d := s.Pick(f)
		d.Bind()
		d.SetActive(true)
	}
	// Used every hour (so the entry itself stays), unchanged for a day: the most loaded
	// member goes.
	for h := 1; h <= 23; h++ {
		f.Now = t0.Add(time.Duration(h) * time.Hour)
		s.Pick(f)
	}
	if got := len(s.entries[f.Dst.Addr()].dests); got != 2 {
		t.Fatalf("set has %d members before the expiration, want 2", got)
	}
	f.Now = t0.Add(25 * time.Hour)
	s.Pick(f)
	if got := s.entries[f.Dst.Addr()].dests; len(got) != 1 || got[0] != dests[1] {
		t.Fatalf("set after the expiration: %d members, want only the least loaded", len(got))
	}
}

// TestNewErrors: unknown names and bad table sizes are errors naming what is wrong.
func TestNewErrors(t *testing.T) {
	if _, err := New("wrrr", 0); err == nil || !strings.Contains(err.Error(), `"wrrr"`) {
		t.Errorf("New(wrrr): %v", err)
	}
	for _, size := range []int{0, 4092, 65536, MaxMaglevTableSize + 1} {
		if _, err := NewMaglev(0, size); err == nil {
			t.Errorf("NewMaglev(%d): no error", size)
		}
	}
	if _, err := NewMaglev(0, 65537); err != nil {
		t.Errorf("NewMaglev(65537): %v", err)
	}
	want := []string{"dh", "fo", "lblc", "lblcr", "lc", "mh", "nq", "ovf", "rr", "sed", "sh", "srt", "twos", "wlc", "wrr"}
	if got := Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// TestReleaseOnSchedulerChange: a destination handed from an indexed scheduler to another
// belongs to the new one only.
func TestReleaseOnSchedulerChange(t *testing.T) {
	dests := testDests(1, 1)
	svc, err := NewService(ServiceConfig{Scheduler: "wlc"}, dests)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Update(ServiceConfig{Scheduler: "rr"}, dests); err != nil {
		t.Fatal(err)
	}
	for _, d := range dests {
		if d.link.Load() != nil {
			t.Fatalf("%v still linked after the switch to rr", d.Addr)
		}
	}
	if err := svc.Update(ServiceConfig{Scheduler: "lc"}, dests); err != nil {
		t.Fatal(err)
	}
	dests[0].Bind()
	if c, _ := svc.Schedule(Flow{}); c.Dest != dests[1] {
		t.Fatalf("lc picked %s after a bind on the other", addrOf(c.Dest))
	}
}

// TestWRRBuiltInOneUpdate: a service built by one Update starts where an ipvsadm-built one
// does (golden sched-wrr.txt A: weights 4,3,2 added rs1,rs2,rs3, list rs3,rs2,rs1).
func TestWRRBuiltInOneUpdate(t *testing.T) {
	rs1, rs2, rs3 := NewDest(ap("10.0.0.1:80"), 4), NewDest(ap("10.0.0.2:80"), 3), NewDest(ap("10.0.0.3:80"), 2)
	s := mustNew(t, "wrr", 0)
	s.Update([]*Dest{rs3, rs2, rs1})
	var got []string
	for range 18 {
		got = append(got, rsName(s.Pick(Flow{}).Addr))
	}
	want := "rs3 rs2 rs1 rs1 rs2 rs1 rs3 rs2 rs1 rs3 rs2 rs1 rs1 rs2 rs1 rs3 rs2 rs1"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}
