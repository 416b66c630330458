# sync.sh with each director run as two processes, as keepalived's -P and -C are often
# run apart (one container each, say): `govs run -P` drives the sync daemon from VRRP,
# as keepalived's VRRP process does, and `govs run -C` programs the IPVS table.
SPLIT=1
. /extra/sync.sh
