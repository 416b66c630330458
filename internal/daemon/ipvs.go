package daemon

// Registers the kernel IPVS data plane, so `govs run --dataplane ipvs` can use it.
// (Additive wiring from the IPVS data-plane issue; choosing the plane with
// dataplane.Choose, lvs_flush / lvs_flush_onstop and lvs_sync_daemon are wired by the
// daemon's owner.)
import _ "github.com/govs/govs/internal/dataplane/ipvs" // registers "ipvs"
