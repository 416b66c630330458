package daemon

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/govs/govs/internal/nftipvs"
	"golang.org/x/sys/unix"
)

// TestPlanNFTablesIPVS: with nftables_ipvs and the ipvs data plane, each group of
// addresses is one fwmark service per protocol and family, marked from
// nftables_ipvs_start_fwmark in the order of the virtual servers, as keepalived 2.2.7
// made them in the IPVS oracle (testdata/oracle/nftipvs.*); a group with fwmark entries,
// a plain virtual server, and every service without the ipvs plane keep their
// addresses.
func TestPlanNFTablesIPVS(t *testing.T) {
	cfg := parse(t, `
global_defs {
    nftables_ipvs_start_fwmark 5
    nftables_ipvs
    nftables_ipvs_priority 7
}
virtual_server_group G1 {
    192.168.10.100 80
    192.168.10.110-112 8080
    2001:db8::1 80
}
virtual_server_group G2 {
    192.168.10.120 53
}
virtual_server_group G3 {
    192.168.10.130 80
    fwmark 9
}
virtual_server group G1 {
    protocol TCP
    real_server 10.0.0.1 80 { TCP_CHECK { } }
}
virtual_server group G2 {
    protocol UDP
    real_server 10.0.0.1 53 { }
}
virtual_server group G1 {
    protocol UDP
    real_server 10.0.0.1 80 { }
}
virtual_server group G3 {
    protocol TCP
    real_server 10.0.0.1 80 { }
}
virtual_server 192.168.10.100 443 {
    protocol TCP
    real_server 10.0.0.1 443 { }
}`)
	keysOf := func(p Plan) string {
		var keys []string
		for _, s := range p.Spec.Services {
			keys = append(keys, s.Service.ServiceKey.String()+" "+s.Name)
		}
		return strings.Join(keys, ", ")
	}
	p, err := newPlan(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	// The start mark (set before nftables_ipvs) is reset to 1000, the priority (after) is not.
	want := "FWM 1000 [G1]:0, FWM 1000 IPv6 [G1]:0, FWM 1001 [G2]:0, FWM 1002 [G1]:0, FWM 1002 IPv6 [G1]:0, " +
		"TCP 192.168.10.130:80 [G3]:0, FWM 9 [G3]:0, TCP 192.168.10.100:443 [192.168.10.100]:tcp:443"
	if got := keysOf(p); got != want {
		t.Errorf("services:\n%s\nwant\n%s", got, want)
	}
	if s := p.Spec.Services[1]; s.HealthFrom != p.Spec.Services[0].Service.ServiceKey {
		t.Errorf("the IPv6 service of G1 does not follow the IPv4 one's checks: %+v", s.HealthFrom)
	}
	if len(p.Checks) == 0 || p.Checks[0].VS != p.Spec.Services[0].Service.ServiceKey {
		t.Errorf("G1's checker is on %v, want its fwmark service", p.Checks[0].VS)
	}
	e := func(first, last string, port uint16, proto uint8, mark uint32) nftipvs.Entry {
		return nftipvs.Entry{First: netip.MustParseAddr(first), Last: netip.MustParseAddr(last), Port: port, Protocol: proto, Mark: mark}
	}
	wantMarks := nftMarks{
		Options: nftipvs.Options{Table: "keepalived_ipvs", Priority: 7},
		Entries: []nftipvs.Entry{
			e("192.168.10.100", "192.168.10.100", 80, unix.IPPROTO_TCP, 1000),
			e("192.168.10.110", "192.168.10.112", 8080, unix.IPPROTO_TCP, 1000),
			e("2001:db8::1", "2001:db8::1", 80, unix.IPPROTO_TCP, 1000),
			e("192.168.10.120", "192.168.10.120", 53, unix.IPPROTO_UDP, 1001),
			e("192.168.10.100", "192.168.10.100", 80, unix.IPPROTO_UDP, 1002),
			e("192.168.10.110", "192.168.10.112", 8080, unix.IPPROTO_UDP, 1002),
			e("2001:db8::1", "2001:db8::1", 80, unix.IPPROTO_UDP, 1002),
		},
	}
	if p.NFTMarks == nil || p.NFTMarks.Options != wantMarks.Options || !slices.Equal(p.NFTMarks.Entries, wantMarks.Entries) {
		t.Errorf("marks:\n%+v\nwant\n%+v", p.NFTMarks, wantMarks)
	}

	p, err = newPlan(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(p); strings.Contains(got, "FWM 1000") || p.NFTMarks != nil {
		t.Errorf("without the ipvs plane: %s, marks %+v", got, p.NFTMarks)
	}
}
