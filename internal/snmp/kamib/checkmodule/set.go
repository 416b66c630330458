package checkmodule

import (
	"fmt"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/snmp/agentx"
)

// colWeight is realServerWeight, the column of realServerTable keepalived lets a set
// write (check_snmp_realserver_weight).
const colWeight = 7

// weightRow is the virtual and real server of a realServerWeight variable; ok is false
// for every other variable, for a row that does not exist and for the sorry server's,
// which has no weight: net-snmp finds no write method for them in keepalived.
func (m *MIB) weightRow(name agentx.OID) (vs *vsRow, rs *rsRow, ok bool) {
	n := len(rsEntry)
	if m.Source.SetWeight == nil || len(name) != n+3 || !name.HasPrefix(rsEntry) || name[n] != colWeight {
		return nil, nil, false
	}
	cfg := m.config()
	if cfg == nil {
		return nil, nil, false
	}
	rows := m.rows(cfg)
	vi, ri := int(name[n+1]), int(name[n+2])
	if vi < 1 || vi > len(rows) || ri < 1 || ri > len(rows[vi-1].rss) || rows[vi-1].rss[ri-1].rs == nil {
		return nil, nil, false
	}
	return &rows[vi-1], &rows[vi-1].rss[ri-1], true
}

// Test checks a set of realServerWeight as keepalived does (an INTEGER, else
// wrongType), and that the value is a weight IPVS takes, 0..65535 (else wrongValue).
// keepalived takes the value's first byte in memory, the low one on a little-endian
// host: 256 sets 0, 1000 sets 232, -1 sets 255. govs sets what was asked or nothing.
func (m *MIB) Test(v agentx.Variable) agentx.Status {
	if _, _, ok := m.weightRow(v.Name); !ok {
		return agentx.NotWritable
	}
	n, ok := v.Value.(int32)
	switch {
	case v.Type != agentx.Integer || !ok:
		return agentx.WrongType
	case n < 0 || n > check.MaxWeight:
		return agentx.WrongValue
	}
	return agentx.NoError
}

// Commit gives the real server the weight until the next reload (Source.SetWeight).
func (m *MIB) Commit(v agentx.Variable) (func() error, error) {
	vs, rs, ok := m.weightRow(v.Name)
	if !ok || rs.live == nil {
		return nil, fmt.Errorf("%s: not a real server the engine runs", v.Name)
	}
	key, addr, old := vs.live.Key, rs.live.Addr, rs.live.EffectiveWeight
	if err := m.Source.SetWeight(key, addr, int(v.Value.(int32))); err != nil {
		return nil, err
	}
	return func() error { return m.Source.SetWeight(key, addr, old) }, nil
}

var _ agentx.Setter = (*MIB)(nil)
