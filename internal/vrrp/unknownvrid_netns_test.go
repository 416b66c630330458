package vrrp

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestLogUnknownVRIDs: with log_unknown_vrids, a node whose two instances share eth0
// logs each advert of another node's VRID once (not once per instance), and never the
// adverts of its own instances' VRIDs.
func TestLogUnknownVRIDs(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	other := startNode(t, hosts["a"], single(instanceCfg("OTHER", 80, 150, 3, 100*time.Millisecond, testVIP)))

	cfg := single(instanceCfg("VI_1", 81, 150, 3, 100*time.Millisecond, testVIP2),
		instanceCfg("VI_2", 82, 100, 3, 100*time.Millisecond, "10.77.0.252"))
	cfg.LogUnknownVRIDs = true
	var logs testutil.SyncBuffer
	n, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), WithNetNS(hosts["b"].NS))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitState(t, other.Node, "OTHER", StateMaster, "a")
	time.Sleep(time.Second)
	// The log first: every advert logged was sent before the count is read.
	logged := logs.String()
	sent := firstStatus(other.Node).AdvertsSent
	var unknown int
	for _, line := range strings.Split(logged, "\n") {
		if !strings.Contains(line, "unknown VRID") {
			continue
		}
		if !strings.Contains(line, "unknown VRID 80 received on interface eth0") {
			t.Fatalf("logged a VRID of its own: %s", line)
		}
		unknown++
	}
	if unknown == 0 || uint64(unknown) > sent {
		t.Fatalf("%d unknown-VRID lines for %d adverts of VRID 80:\n%s", unknown, sent, logged)
	}
}
