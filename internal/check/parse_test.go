package check

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStatusCodes(t *testing.T) {
	tests := []struct {
		in      []string
		want    []StatusRange
		wantErr string
	}{
		{[]string{"200"}, []StatusRange{{200, 200}}, ""},
		{[]string{"200", "300-399"}, []StatusRange{{200, 200}, {300, 399}}, ""},
		{[]string{"200", "99"}, nil, `status_code value 2 "99"`},
		{[]string{"399-300"}, nil, "range end below its start"},
		{[]string{"2xx"}, nil, "not an HTTP status"},
		{[]string{"200-"}, nil, `value 1 "200-"`},
	}
	for _, tt := range tests {
		got, err := ParseStatusCodes(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %v, %v", tt.in, got, err)
		}
	}
}

func FuzzParseStatusCodes(f *testing.F) {
	for _, s := range []string{"200", "300-399", "-", "99-600", "200-100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatusCodes(strings.Fields(s))
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Lo < 100 || r.Hi > 599 || r.Hi < r.Lo {
				t.Fatalf("%q gave %+v", s, r)
			}
		}
	})
}

func TestPatternAndHex(t *testing.T) {
	p, err := ParsePattern("48xX6c")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		b    []byte
		want bool
	}{{[]byte("Hel"), true}, {[]byte("H\x00l!"), true}, {[]byte("Hem"), false}, {[]byte("H"), false}} {
		if p.Match(tt.b) != tt.want {
			t.Errorf("Match(%q) = %v", tt.b, !tt.want)
		}
	}
	for in, want := range map[string]string{"4g": "'g' at offset 1", "abc": "odd number"} {
		if _, err := ParsePattern(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePattern(%q): %v, want %q", in, err, want)
		}
	}
	if b, err := ParseHex("00ff"); err != nil || string(b) != "\x00\xff" {
		t.Errorf("ParseHex: %q %v", b, err)
	}
	if _, err := ParseHex("0z"); err == nil || !strings.Contains(err.Error(), "'z' at offset 1") {
		t.Errorf("ParseHex(0z): %v", err)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"48XX", "x", "00ff", "zz"} {
		f.Add(s, []byte("Hi"))
	}
	f.Fuzz(func(t *testing.T, s string, reply []byte) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		if len(p) != len(s) {
			t.Fatalf("%d nibbles from %q", len(p), s)
		}
		p.Match(reply) // must not panic whatever the lengths
		if b, err := ParseHex(s); err == nil && !p.Match(b) {
			t.Fatalf("pattern %q does not match its own bytes", s)
		}
	})
}

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		ok      bool
		wantErr string
	}{
		{"75%\n", 75, true, ""},
		{"up 50%", 50, true, ""},
		{"ready", 0, false, ""},
		{"drain", 0, true, ""},
		{"DOWN", 0, true, ""},
		{"load=30%", 70, true, ""},
		{"load:120%", 0, true, ""},
		{"up,80%", 80, true, ""},
		{"fast", 0, false, `word 1 "fast"`},
		{"75", 0, false, `word 1 "75": not a percentage`},
		{"up -5%", 0, false, `word 2 "-5%"`},
		{"5000%", 0, false, "0..1000"},
		{"NaN%", 0, false, "not a percentage"},
	}
	for _, tt := range tests {
		got, ok, err := ParseAgentReply(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || ok != tt.ok {
			t.Errorf("%q: %v %v %v, want %v %v", tt.in, got, ok, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"75%", "load=10%", "drain", "up 1e3%", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok, err := ParseAgentReply(s)
		if err == nil && ok && (p < 0 || p > maxPercent || math.IsNaN(p)) {
			t.Fatalf("%q gave %v", s, p)
		}
	})
}

func TestParseFileValue(t *testing.T) {
	for in, want := range map[string]int{"": 0, " 12\n": 12, "-3": -3, "0": 0} {
		if got, err := ParseFileValue("f", []byte(in)); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "1 2", "99999999999"} {
		if _, err := ParseFileValue("/run/w", []byte(in)); err == nil || !strings.Contains(err.Error(), "/run/w: content") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func FuzzParseFileValue(f *testing.F) {
	for _, s := range []string{"0", "-12", " 7 ", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseFileValue("f", b)
		if err == nil && (n < -maxFileValue || n > maxFileValue) {
			t.Fatalf("%q gave %d", b, n)
		}
	})
}

func TestFeedbackSmoothingAndBounds(t *testing.T) {
	cfg, err := Feedback{LatencyTarget: 10 * time.Millisecond, Smoothing: 0.5}.withDefaults(Timers{DelayLoop: time.Second, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := newFeedbackState(cfg)
	if s.scale(10) != 10 {
		t.Fatalf("initial %v", s.percent)
	}
	s.observeAgent(50) // halfway to 50%
	if s.percent != 75 || s.scale(10) != 8 {
		t.Fatalf("after 50%%: %v → %d", s.percent, s.scale(10))
	}
	s.observeAgent(0) // bounded below by min_weight 10%
	s.observeAgent(0)
	s.observeAgent(0)
	s.observeAgent(0)
	if s.percent != DefaultMinPercent {
		t.Fatalf("not bounded: %v", s.percent)
	}
	s.observeAgent(100)
	for range 20 {
		s.observeLatency(40 * time.Millisecond) // 4× the target: 25%
	}
	if math.Abs(s.percent-25) > 1 {
		t.Fatalf("latency scaling: %v, want about 25", s.percent)
	}
	for _, bad := range []Feedback{{Smoothing: 2}, {MinPercent: 50, MaxPercent: 40}, {MaxPercent: 5000}, {LatencyTarget: -1}} {
		if _, err := bad.withDefaults(Timers{}); err == nil || !strings.Contains(err.Error(), "dynamic_feedback") {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
}
