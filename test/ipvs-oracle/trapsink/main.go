// Command trapsink is the IPVS oracle guest's SNMP trap receiver (the guest has no
// snmptrapd): it prints every SNMPv2c notification arriving on a UDP address, one line
// per notification, its variables as snmptrap.Decode gives them joined by spaces.
//
//	trapsink 127.0.0.1:16162 >> /tmp/traps
package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/govs/govs/internal/testutil/snmptrap"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trapsink ADDR:PORT")
		os.Exit(2)
	}
	pc, err := net.ListenPacket("udp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "trapsink:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "trapsink: ready")
	buf := make([]byte, 65536)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			continue
		}
		vars, err := snmptrap.Decode(buf[:n])
		if err != nil {
			fmt.Println("undecodable", err, hex.EncodeToString(buf[:n]))
			continue
		}
		fmt.Println(strings.Join(vars, " "))
	}
}
