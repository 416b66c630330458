package daemon

import "testing"

// TestVRRPConfigPromoteSecondaries: promote_secondaries reaches the instance's VRRP
// configuration; an instance without it leaves the interface alone.
func TestVRRPConfigPromoteSecondaries(t *testing.T) {
	cfg := parse(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  promote_secondaries
  virtual_ipaddress {
    192.0.2.1/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2/24
  }
}
`)
	out, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, in := range out.Instances {
		got[in.Name] = in.PromoteSecondaries
	}
	if !got["VI_1"] || got["VI_2"] {
		t.Errorf("PromoteSecondaries = %v, want VI_1 only", got)
	}
}
