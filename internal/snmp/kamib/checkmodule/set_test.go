package checkmodule

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/agentx/agentxtest"
	"github.com/govs/govs/internal/table"
)

// TestSetWeight: realServerWeight of a real server (not the sorry server) takes an
// INTEGER weight IPVS accepts, as keepalived answers; a commit sets it through
// Source.SetWeight under the engine's names, and its undo puts the weight before back.
func TestSetWeight(t *testing.T) {
	weight := func(vs, rs uint32) agentx.OID { return rsEntry.Append(colWeight, vs, rs) }
	for _, tc := range []struct {
		name   string
		v      agentx.Variable
		want   agentx.Status
		commit string // the weights set, the undo's last
	}{
		{"a weight", agentx.Int(weight(1, 2), 5), agentx.NoError, "TCP 192.0.2.1:80 10.0.0.1:80 5,TCP 192.0.2.1:80 10.0.0.1:80 2"},
		{"0", agentx.Int(weight(1, 3), 0), agentx.NoError, "TCP 192.0.2.1:80 10.0.0.2:80 0,TCP 192.0.2.1:80 10.0.0.2:80 1"},
		{"the largest", agentx.Int(weight(2, 1), 65535), agentx.NoError, "FWM 7 10.0.0.1:80 65535,FWM 7 10.0.0.1:80 1"},
		{"too large", agentx.Int(weight(1, 2), 65536), agentx.WrongValue, ""},
		{"negative", agentx.Int(weight(1, 2), -1), agentx.WrongValue, ""},
		{"Unsigned32", agentx.Unsigned(weight(1, 2), 5), agentx.WrongType, ""},
		{"the sorry server's", agentx.Int(weight(1, 1), 5), agentx.NotWritable, ""},
		{"a real server that does not exist", agentx.Int(weight(1, 4), 5), agentx.NotWritable, ""},
		{"a virtual server that does not exist", agentx.Int(weight(4, 1), 5), agentx.NotWritable, ""},
		{"more index than a row", agentx.Int(weight(1, 2).Append(0), 5), agentx.NotWritable, ""},
		{"another column", agentx.Unsigned(rsEntry.Append(8, 1, 2), 5), agentx.NotWritable, ""},
		{"a virtual server's weight", agentx.Int(vsEntry.Append(60, 1), 5), agentx.NotWritable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fixture(t)
			var sets []string
			m.Source.SetWeight = func(key table.ServiceKey, rs netip.AddrPort, w int) error {
				sets = append(sets, fmt.Sprintf("%s %s %d", key, rs, w))
				return nil
			}
			agentxtest.SetAndUndo(t, m, tc.v, tc.want)
			if got := strings.Join(sets, ","); got != tc.commit {
				t.Errorf("weights set %q, want %q", got, tc.commit)
			}
		})
	}
	m := fixture(t)
	v := agentx.Int(rsEntry.Append(colWeight, 1, 2), 5)
	if got := m.Test(v); got != agentx.NotWritable {
		t.Errorf("without Source.SetWeight: %d, want notWritable", got)
	}
	// Without the engine's state there is no server to set: the commit fails.
	m.Source.SetWeight = func(table.ServiceKey, netip.AddrPort, int) error { return nil }
	m.Source.Live = nil
	if _, err := m.Commit(v); err == nil {
		t.Error("a commit without the engine's state succeeded")
	}
}

// TestWeightShown: realServerWeight is the weight a server has in the table, govs
// adm's edits included, and otherwise (down, or out of the table) the weight it gets
// when up, as keepalived shows its effective weight.
func TestWeightShown(t *testing.T) {
	for _, tc := range []struct {
		name             string
		up               bool
		effective, table int
		want             string
	}{
		{"up, in the table", true, 2, 2, "2"},
		{"up, edited with govs adm", true, 2, 7, "7"},
		{"up, out of the table (the sorry server's turn)", true, 4, -1, "4"},
		{"down", false, 4, -1, "4"},
		{"down, inhibited", false, 4, 0, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fixture(t)
			live := m.Source.Live()
			live.Services = append([]engine.ServiceStatus(nil), live.Services...)
			rss := append([]engine.RealServerStatus(nil), live.Services[0].RealServers...)
			rss[0].Up, rss[0].EffectiveWeight, rss[0].TableWeight = tc.up, tc.effective, tc.table
			live.Services[0].RealServers = rss
			m.Source.Live = func() Live { return live }
			name := rsEntry.Append(colWeight, 1, 2).String()
			for _, v := range m.Variables() {
				if v.Name.String() == name {
					if got := show(v); got != tc.want {
						t.Errorf("realServerWeight %s, want %s", got, tc.want)
					}
					return
				}
			}
			t.Errorf("no %s", name)
		})
	}
}
