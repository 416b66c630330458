package sched

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// foldAddr is the kernel's addr_fold in host order: an IPv4 address as a number, an IPv6
// address as the XOR of its four 32-bit words. IPv4-mapped IPv6 addresses count as IPv4, as
// they reach an IPv4 service.
func foldAddr(a netip.Addr) uint32 {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	return binary.BigEndian.Uint32(b[0:]) ^ binary.BigEndian.Uint32(b[4:]) ^
		binary.BigEndian.Uint32(b[8:]) ^ binary.BigEndian.Uint32(b[12:])
}

// goldenRatio32 is the multiplier of the kernel's hash_32 since Linux 4.7; older kernels
// used another constant and therefore another dh/sh mapping.
const goldenRatio32 = 0x61C88647

// hash32 is the kernel's hash_32(val, bits).
func hash32(val uint32, bits uint) uint32 { return (val * goldenRatio32) >> (32 - bits) }

// sipKey is a 128-bit SipHash key as the kernel's 64-bit hsiphash_key_t holds it.
type sipKey [2]uint64

// hsiphash32 is the kernel's hsiphash() of one 4-byte value on a 64-bit little-endian
// machine, where hsiphash is SipHash-1-3 truncated to 32 bits.
func hsiphash32(v uint32, k sipKey) uint32 {
	v0 := uint64(0x736f6d6570736575) ^ k[0]
	v1 := uint64(0x646f72616e646f6d) ^ k[1]
	v2 := uint64(0x6c7967656e657261) ^ k[0]
	v3 := uint64(0x7465646279746573) ^ k[1]
	b := uint64(4)<<56 | uint64(v)

	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	v3 ^= b
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	round()
	return uint32((v0 ^ v1) ^ (v2 ^ v3))
}

// gcd of two positive numbers.
func gcd(a, b int32) int32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
