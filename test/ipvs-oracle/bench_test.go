package ipvsoracle

import (
	"regexp"
	"strconv"
	"testing"
)

var benchLine = regexp.MustCompile(`(?m)^BENCH (\S+) seconds=([0-9.]+)(?: changes=([0-9]+))?`)

// BenchmarkKernelProgramming runs scenarios/bench.sh once (1,000 virtual services x 10
// real servers in the guest) and reports each timing as a metric: ipvsadm -R (the floor),
// keepalived's and govs's start to a complete table, and the reloads, with govs's
// netlink change requests (goal: 0 for a no-change reload, 1 for one changed weight).
func BenchmarkKernelProgramming(b *testing.B) {
	h := setup(b)
	out := h.run(b, "bench")
	for _, m := range benchLine.FindAllStringSubmatch(out, -1) {
		secs, _ := strconv.ParseFloat(m[2], 64)
		b.ReportMetric(secs, m[1]+"-s")
		if m[3] != "" {
			n, _ := strconv.Atoi(m[3])
			b.ReportMetric(float64(n), m[1]+"-changes")
		}
	}
}
