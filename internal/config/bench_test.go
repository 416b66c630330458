package config

import (
	"fmt"
	"strings"
	"testing"
)

// generated returns a configuration with n real servers spread over virtual servers
// of 100 each, every one with a TCP_CHECK.
func generated(n int) []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n}\n")
	for vs := 0; vs*100 < n; vs++ {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n", vs/256, vs%256)
		for rs := 0; rs < 100 && vs*100+rs < n; rs++ {
			fmt.Fprintf(&b, "    real_server 172.16.%d.%d 80 {\n        weight %d\n        TCP_CHECK {\n            connect_timeout 3\n            retry 2\n        }\n    }\n", vs, rs+1, rs%10+1)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// BenchmarkParse parses generated configurations of 1,000 and 10,000 real servers;
// the goal is under 100 ms for 10k, scaling linearly.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		src := generated(n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				cfg, diags := Parse("bench.conf", src, Options{})
				if diags.HasErrors() || len(cfg.VirtualServers) != (n+99)/100 {
					b.Fatalf("bad parse: %s", diags)
				}
			}
		})
	}
}
