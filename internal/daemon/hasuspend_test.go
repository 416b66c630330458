package daemon

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/table"
)

// ha_suspend maps to the address services of its virtual server, each with every
// address of the virtual server (or of its group); servers without it are absent.
func TestPlanHASuspend(t *testing.T) {
	cfg := parse(t, `
virtual_server_group web {
    192.0.2.20 80
    192.0.2.21 80
}
virtual_server 192.0.2.10 80 {
    ha_suspend
    protocol TCP
    real_server 10.0.0.1 80 { TCP_CHECK { } }
}
virtual_server group web {
    ha_suspend
    protocol TCP
    real_server 10.0.0.2 80 { TCP_CHECK { } }
}
virtual_server 192.0.2.30 80 {
    protocol TCP
    real_server 10.0.0.3 80 { TCP_CHECK { } }
}
`)
	plan, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := func(s string) table.ServiceKey {
		return table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort(s)}
	}
	group := []netip.Addr{netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("192.0.2.21")}
	want := check.HASuspend{
		key("192.0.2.10:80"): {netip.MustParseAddr("192.0.2.10")},
		key("192.0.2.20:80"): group,
		key("192.0.2.21:80"): group,
	}
	if !reflect.DeepEqual(plan.HASuspend, want) {
		t.Errorf("HASuspend %v, want %v", plan.HASuspend, want)
	}
}
