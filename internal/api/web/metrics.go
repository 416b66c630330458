package web

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/vrrp"
)

// scrapeTimeout bounds the snapshot one scrape waits for.
const scrapeTimeout = 5 * time.Second

// desc declares one govs_ metric.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("govs_"+name, help, labels, nil)
}

var (
	svcLabels   = []string{"service"}
	rsLabels    = []string{"service", "server"}
	checkLabels = []string{"service", "server", "checker"}
	// Not "instance": Prometheus gives that label to every scraped target.
	vrrpLabels = []string{"vrrp_instance"}

	descUp        = desc("up", "1 when the status snapshot of this scrape was taken; 0 when the daemon did not answer.")
	descBuildInfo = desc("build_info", "govs version, as a label; always 1.", "version")

	descVSConns    = desc("vs_connections_total", "Connections scheduled by the virtual service.", svcLabels...)
	descVSActive   = desc("vs_active_connections", "Active (established) connections of the virtual service.", svcLabels...)
	descVSInact    = desc("vs_inactive_connections", "Inactive connections of the virtual service.", svcLabels...)
	descVSPackets  = desc("vs_packets_total", "Packets through the virtual service, by direction.", "service", "direction")
	descVSBytes    = desc("vs_bytes_total", "Bytes through the virtual service, by direction.", "service", "direction")
	descVSQuorum   = desc("vs_quorum_up", "1 while the live weight of the real servers reaches the quorum.", svcLabels...)
	descVSRSHealth = desc("vs_real_servers", "Real servers of the virtual service, by health.", "service", "health")

	descRSConns    = desc("rs_connections_total", "Connections scheduled to the real server.", rsLabels...)
	descRSActive   = desc("rs_active_connections", "Active (established) connections to the real server.", rsLabels...)
	descRSInact    = desc("rs_inactive_connections", "Inactive connections to the real server.", rsLabels...)
	descRSPackets  = desc("rs_packets_total", "Packets to and from the real server, by direction.", "service", "server", "direction")
	descRSBytes    = desc("rs_bytes_total", "Bytes to and from the real server, by direction.", "service", "server", "direction")
	descRSUp       = desc("rs_up", "1 when the real server's checkers all pass.", rsLabels...)
	descRSHealth   = desc("rs_health", "1 for the real server's health: up, drained (weight 0), down, removed (by govs adm).", "service", "server", "health")
	descRSWeight   = desc("rs_weight", "The real server's weight in the table now (0 when not in the table).", rsLabels...)
	descRSCfWeight = desc("rs_configured_weight", "The real server's configured weight.", rsLabels...)

	descCheckUp       = desc("check_up", "1 when the checker considers the real server up.", checkLabels...)
	descCheckLatency  = desc("check_latency_seconds", "Duration of the checker's last probe.", checkLabels...)
	descCheckFailures = desc("check_consecutive_failures", "Failed probes in a row, counted toward retry.", checkLabels...)
	descCheckProbes   = desc("check_probes_total", "Probes the checker has run.", checkLabels...)
	descCheckLastOK   = desc("check_last_ok", "1 when the checker's last probe passed.", checkLabels...)

	descVRRPState       = desc("vrrp_state", "1 for the instance's current state.", "vrrp_instance", "state")
	descVRRPPriority    = desc("vrrp_priority", "Base priority of the instance: the configured one, or an SNMP set's.", vrrpLabels...)
	descVRRPEffPriority = desc("vrrp_effective_priority", "Priority after tracking adjustments.", vrrpLabels...)
	descVRRPTransitions = desc("vrrp_transitions_total", "State transitions of the instance.", vrrpLabels...)
	descVRRPBecameMastr = desc("vrrp_became_master_total", "Times the instance became master.", vrrpLabels...)
	descVRRPSent        = desc("vrrp_adverts_sent_total", "Advertisements sent.", vrrpLabels...)
	descVRRPReceived    = desc("vrrp_adverts_received_total", "Advertisements received and accepted.", vrrpLabels...)
	descVRRPPrio0Sent   = desc("vrrp_priority0_sent_total", "Priority-0 advertisements sent (handing over mastership).", vrrpLabels...)
	descVRRPPrio0Recv   = desc("vrrp_priority0_received_total", "Priority-0 advertisements received.", vrrpLabels...)
	descVRRPBad         = desc("vrrp_bad_packets_total", "Received advertisements dropped, by reason.", "vrrp_instance", "reason")
)

// vrrpStates are the states govs_vrrp_state reports, one series each.
var vrrpStates = []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault, vrrp.StateStop}

// healthStates are the states govs_rs_health and govs_vs_real_servers report.
var healthStates = []status.Health{status.HealthUp, status.HealthDrained, status.HealthDown, status.HealthRemoved}

// collector turns one snapshot per scrape into metrics, so the numbers always agree
// with the JSON API and nothing is counted twice.
type collector struct {
	snapshot func(context.Context) (status.Snapshot, error)
	version  string
}

var _ prometheus.Collector = (*collector)(nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descUp, descBuildInfo,
		descVSConns, descVSActive, descVSInact, descVSPackets, descVSBytes, descVSQuorum, descVSRSHealth,
		descRSConns, descRSActive, descRSInact, descRSPackets, descRSBytes, descRSUp, descRSHealth, descRSWeight, descRSCfWeight,
		descCheckUp, descCheckLatency, descCheckFailures, descCheckProbes, descCheckLastOK,
		descVRRPState, descVRRPPriority, descVRRPEffPriority, descVRRPTransitions, descVRRPBecameMastr,
		descVRRPSent, descVRRPReceived, descVRRPPrio0Sent, descVRRPPrio0Recv, descVRRPBad,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, c.version)
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	snap, err := c.snapshot(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	m := emitter{ch}
	for _, svc := range snap.Services {
		collectService(m, svc)
	}
	for _, in := range snap.VRRP {
		collectInstance(m, in)
	}
}

func collectService(m emitter, svc status.Service) {
	k := svc.Key
	m.counter(descVSConns, svc.Counters.Conns, k)
	m.gauge(descVSActive, float64(svc.ActiveConns), k)
	m.gauge(descVSInact, float64(svc.InactConns), k)
	m.counter(descVSPackets, svc.Counters.InPkts, k, "in")
	m.counter(descVSPackets, svc.Counters.OutPkts, k, "out")
	m.counter(descVSBytes, svc.Counters.InBytes, k, "in")
	m.counter(descVSBytes, svc.Counters.OutBytes, k, "out")
	m.gauge(descVSQuorum, bool01(svc.Quorum), k)
	byHealth := map[status.Health]int{}
	for _, rs := range svc.RealServers {
		byHealth[rs.Health]++
		collectRealServer(m, k, rs)
	}
	for _, h := range healthStates {
		m.gauge(descVSRSHealth, float64(byHealth[h]), k, string(h))
	}
}

func collectRealServer(m emitter, svc string, rs status.RealServer) {
	a := rs.Address
	m.counter(descRSConns, rs.Counters.Conns, svc, a)
	m.gauge(descRSActive, float64(rs.ActiveConns), svc, a)
	m.gauge(descRSInact, float64(rs.InactConns), svc, a)
	m.counter(descRSPackets, rs.Counters.InPkts, svc, a, "in")
	m.counter(descRSPackets, rs.Counters.OutPkts, svc, a, "out")
	m.counter(descRSBytes, rs.Counters.InBytes, svc, a, "in")
	m.counter(descRSBytes, rs.Counters.OutBytes, svc, a, "out")
	m.gauge(descRSUp, bool01(rs.Up), svc, a)
	for _, h := range healthStates {
		m.gauge(descRSHealth, bool01(rs.Health == h), svc, a, string(h))
	}
	m.gauge(descRSWeight, float64(max(rs.TableWeight, 0)), svc, a)
	m.gauge(descRSCfWeight, float64(rs.Weight), svc, a)
	for _, c := range rs.Checkers {
		m.gauge(descCheckUp, bool01(c.Up), svc, a, c.Name)
		m.gauge(descCheckLatency, c.LastLatency, svc, a, c.Name)
		m.gauge(descCheckFailures, float64(c.Failures), svc, a, c.Name)
		m.counter(descCheckProbes, c.Checks, svc, a, c.Name)
		m.gauge(descCheckLastOK, bool01(c.LastOK), svc, a, c.Name)
	}
}

func collectInstance(m emitter, in status.Instance) {
	n := in.Name
	for _, s := range vrrpStates {
		m.gauge(descVRRPState, bool01(in.State == s.String()), n, s.String())
	}
	m.gauge(descVRRPPriority, float64(in.Priority), n)
	m.gauge(descVRRPEffPriority, float64(in.EffectivePriority), n)
	m.counter(descVRRPTransitions, in.Transitions, n)
	m.counter(descVRRPBecameMastr, in.BecameMaster, n)
	m.counter(descVRRPSent, in.AdvertsSent, n)
	m.counter(descVRRPReceived, in.AdvertsReceived, n)
	m.counter(descVRRPPrio0Sent, in.Priority0Sent, n)
	m.counter(descVRRPPrio0Recv, in.Priority0Received, n)
	for _, r := range vrrp.Reasons() {
		m.counter(descVRRPBad, in.BadPackets[r.String()], n, r.String())
	}
}

// emitter sends const metrics; the label counts are fixed by the descs above.
type emitter struct{ ch chan<- prometheus.Metric }

func (m emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	m.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (m emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	m.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
