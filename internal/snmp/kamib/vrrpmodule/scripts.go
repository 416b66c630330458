package vrrpmodule

import (
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// scriptResults are vrrpScriptResult's values: init(1), bad(2), good(3).
var scriptResults = map[vrrp.ScriptResult]int{vrrp.ScriptInit: 1, vrrp.ScriptBad: 2, vrrp.ScriptGood: 3}

// scripts is vrrpScriptTable: every vrrp_script, in configuration order.
func scripts(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, s := range v.run.Scripts {
		idx := uint32(i + 1)
		col := func(c uint32) agentx.OID { return scriptEntry.Append(c, idx) }
		vars = append(vars,
			agentx.String(col(2), s.Name),
			agentx.String(col(3), commandString(&s.Command)),
			agentx.Int(col(4), int(seconds(s.Interval))),
			agentx.Int(col(5), s.Weight),
			agentx.Int(col(6), scriptResults[v.scripts[s.Name]]),
			agentx.Unsigned(col(7), uint64(s.Rise)),
			agentx.Unsigned(col(8), uint64(s.Fall)),
			agentx.Int(col(9), agentx.Truth(s.Reverse)),
		)
	}
	return vars
}
