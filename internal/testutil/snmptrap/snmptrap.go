// Package snmptrap decodes the SNMPv2c notifications a test's trap sink receives, so
// that the notifications of keepalived and govs compare as text.
package snmptrap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sysUpTime is sysUpTime.0, the first variable of every SNMPv2 notification.
const sysUpTime = ".1.3.6.1.2.1.1.3.0"

// Decode reads an SNMPv2c notification, Message ::= SEQUENCE { version, community,
// SNMPv2-Trap-PDU [7] { request-id, error-status, error-index, SEQUENCE OF VarBind } },
// and returns its variables as "OID=TYPE:VALUE" (OCTET STRING values in hex),
// sysUpTime.0 left out: it counts time, and two daemons' notifications must compare
// as text.
func Decode(b []byte) ([]string, error) {
	msg, _, err := tlv(b, 0x30)
	if err != nil {
		return nil, err
	}
	for range 2 { // version, community
		if _, msg, err = anyTLV(msg); err != nil {
			return nil, err
		}
	}
	pdu, _, err := tlv(msg, 0xa7)
	if err != nil {
		return nil, err
	}
	for range 3 { // request-id, error-status, error-index
		if _, pdu, err = anyTLV(pdu); err != nil {
			return nil, err
		}
	}
	list, _, err := tlv(pdu, 0x30)
	if err != nil {
		return nil, err
	}
	var vars []string
	for len(list) > 0 {
		var vb []byte
		if vb, list, err = tlv(list, 0x30); err != nil {
			return nil, err
		}
		name, rest, err := tlv(vb, 0x06)
		if err != nil {
			return nil, err
		}
		oid := oidString(name)
		if oid == sysUpTime {
			continue
		}
		if len(rest) < 2 {
			return nil, errors.New("short value")
		}
		tag := rest[0]
		val, _, err := tlv(rest, tag)
		if err != nil {
			return nil, err
		}
		vars = append(vars, oid+"="+value(tag, val))
	}
	return vars, nil
}

func value(tag byte, v []byte) string {
	switch tag {
	case 0x02:
		return "INTEGER:" + strconv.FormatInt(signed(v), 10)
	case 0x04:
		return "STRING:" + hex.EncodeToString(v)
	case 0x06:
		return "OID:" + oidString(v)
	case 0x41, 0x42, 0x43, 0x46:
		return map[byte]string{0x41: "Counter32", 0x42: "Gauge32", 0x43: "Timeticks", 0x46: "Counter64"}[tag] + ":" + strconv.FormatUint(unsigned(v), 10)
	}
	return fmt.Sprintf("tag%#x:%x", tag, v)
}

func signed(v []byte) int64 {
	var n int64
	if len(v) > 0 && v[0]&0x80 != 0 {
		n = -1
	}
	for _, c := range v {
		n = n<<8 | int64(c)
	}
	return n
}

func unsigned(v []byte) uint64 {
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	return n
}

func oidString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, ".%d.%d", b[0]/40, b[0]%40)
	var n uint64
	for _, c := range b[1:] {
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			fmt.Fprintf(&sb, ".%d", n)
			n = 0
		}
	}
	return sb.String()
}

// anyTLV reads one TLV of whatever tag.
func anyTLV(b []byte) (val, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("short message")
	}
	return tlv(b, b[0])
}

// tlv reads a BER TLV with tag from b.
func tlv(b []byte, tag byte) (val, rest []byte, err error) {
	if len(b) < 2 || b[0] != tag {
		return nil, nil, fmt.Errorf("want tag %#x", tag)
	}
	n, i := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return nil, nil, errors.New("bad length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if len(b) < i+n {
		return nil, nil, errors.New("truncated")
	}
	return b[i : i+n], b[i+n:], nil
}
