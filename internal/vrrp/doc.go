// Package vrrp implements VRRP as keepalived does: the VRRPv2 (RFC 3768) and VRRPv3
// (RFC 5798) wire codec for IPv4 and IPv6, the RFC state machine as a pure function
// (with keepalived's FAULT state, preemption rules and timers), and a thin I/O layer that
// sends and receives adverts on raw IP protocol 112 sockets, moves virtual addresses,
// routes and rules with netlink, announces them with gratuitous ARP and unsolicited
// neighbour advertisements, tracks interfaces, scripts and files, keeps sync groups
// together and runs keepalived-compatible notifies.
//
// The layers are separate so each is tested on its own: codec.go knows bytes, fsm.go
// knows (state, event) → (state, actions), and node.go wires them to sockets and timers.
package vrrp
