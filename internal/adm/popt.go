package adm

import "strings"

// This file reproduces the part of libpopt 1.19 that ipvsadm relies on: short option
// clusters (-Ln, -srr, -s=rr), long options with "=value" or a separate value, an
// optional argument (-p) that is never taken from a word starting with '-', "--" ending
// the options, and the leftover (non-option) words. popt does not abbreviate long names
// and takes a single-dash word as a cluster of short options.

// argKind is how an option takes its argument.
type argKind int

const (
	argNone argKind = iota
	argString
	argOptional // POPT_ARGFLAG_OPTIONAL: only from "=x", the cluster rest, or a word not starting with '-'
)

// optID names every entry of ipvsadm's popt table.
type optID int

const (
	idAddService optID = iota + 1
	idEditService
	idDelService
	idClear
	idList
	idZero
	idAddServer
	idEditServer
	idDelServer
	idSet
	idHelp
	idVersion
	idRestore
	idSave
	idStartDaemon
	idStopDaemon
	idTCP
	idUDP
	idSCTP
	idFWMark
	idScheduler
	idPersistent
	idNetmask
	idRealServer
	idMasq
	idIPIP
	idGate
	idWeight
	idUThreshold
	idLThreshold
	idNumeric
	idConnection
	idMcastInterface
	idSyncID
	idTimeout
	idDaemon
	idStats
	idRate
	idThresholds
	idPersistentConn
	idNoSort
	idSort
	idExact
	idIPv6
	idOps
	idPE
	idSchedFlags
	idMcastGroup
	idMcastPort
	idMcastTTL
	idSyncMaxlen
	idTunInfo
	idTunType
	idTunPort
	idTunNoCsum
	idTunCsum
	idTunRemCsum
)

type poptOption struct {
	long  string
	short byte
	kind  argKind
	id    optID
}

// poptTable is ipvsadm 1.31's options_table, in its order (findOption takes the first
// match, which matters for the two "list" entries).
var poptTable = []poptOption{
	{"add-service", 'A', argNone, idAddService},
	{"edit-service", 'E', argNone, idEditService},
	{"delete-service", 'D', argNone, idDelService},
	{"clear", 'C', argNone, idClear},
	{"list", 'L', argNone, idList},
	{"list", 'l', argNone, idList},
	{"zero", 'Z', argNone, idZero},
	{"add-server", 'a', argNone, idAddServer},
	{"edit-server", 'e', argNone, idEditServer},
	{"delete-server", 'd', argNone, idDelServer},
	{"set", 0, argNone, idSet},
	{"help", 'h', argNone, idHelp},
	{"version", 'v', argNone, idVersion},
	{"restore", 'R', argNone, idRestore},
	{"save", 'S', argNone, idSave},
	{"start-daemon", 0, argString, idStartDaemon},
	{"stop-daemon", 0, argString, idStopDaemon},
	{"tcp-service", 't', argString, idTCP},
	{"udp-service", 'u', argString, idUDP},
	{"sctp-service", 0, argString, idSCTP},
	{"fwmark-service", 'f', argString, idFWMark},
	{"scheduler", 's', argString, idScheduler},
	{"persistent", 'p', argOptional, idPersistent},
	{"netmask", 'M', argString, idNetmask},
	{"real-server", 'r', argString, idRealServer},
	{"masquerading", 'm', argNone, idMasq},
	{"ipip", 'i', argNone, idIPIP},
	{"gatewaying", 'g', argNone, idGate},
	{"weight", 'w', argString, idWeight},
	{"u-threshold", 'x', argString, idUThreshold},
	{"l-threshold", 'y', argString, idLThreshold},
	{"numeric", 'n', argNone, idNumeric},
	{"connection", 'c', argNone, idConnection},
	{"mcast-interface", 0, argString, idMcastInterface},
	{"syncid", 0, argString, idSyncID},
	{"timeout", 0, argNone, idTimeout},
	{"daemon", 0, argNone, idDaemon},
	{"stats", 0, argNone, idStats},
	{"rate", 0, argNone, idRate},
	{"thresholds", 0, argNone, idThresholds},
	{"persistent-conn", 0, argNone, idPersistentConn},
	{"nosort", 0, argNone, idNoSort},
	{"sort", 0, argNone, idSort},
	{"exact", 'X', argNone, idExact},
	{"ipv6", '6', argNone, idIPv6},
	{"ops", 'o', argNone, idOps},
	{"pe", 0, argString, idPE},
	{"sched-flags", 'b', argString, idSchedFlags},
	{"mcast-group", 0, argString, idMcastGroup},
	{"mcast-port", 0, argString, idMcastPort},
	{"mcast-ttl", 0, argString, idMcastTTL},
	{"sync-maxlen", 0, argString, idSyncMaxlen},
	{"tun-info", 0, argNone, idTunInfo},
	{"tun-type", 0, argString, idTunType},
	{"tun-port", 0, argString, idTunPort},
	{"tun-nocsum", 0, argNone, idTunNoCsum},
	{"tun-csum", 0, argNone, idTunCsum},
	{"tun-remcsum", 0, argNone, idTunRemCsum},
}

// popt errors, with poptStrerror's texts.
const (
	poptErrNoArg       = "missing argument"
	poptErrBadOpt      = "unknown option"
	poptErrUnwantedArg = "option does not take an argument"
)

// poptContext walks an argv (without the program name) the way poptGetNextOpt does.
type poptContext struct {
	argv      []string
	pos       int    // index of the next word
	cluster   string // rest of a short option cluster being walked
	restLeft  bool   // "--" seen: every later word is a leftover
	leftovers []string
}

// poptResult is one option returned by next.
type poptResult struct {
	id     optID
	arg    string
	hasArg bool
}

// next returns the next option; done is true at the end of argv. A non-empty errText is
// a popt error; badOption then names the word, as poptBadOption does.
func (c *poptContext) next() (r poptResult, done bool, errText string) {
	for {
		var opt *poptOption
		var longArg string
		hasLongArg := false
		if c.cluster == "" {
			if c.pos >= len(c.argv) {
				return r, true, ""
			}
			word := c.argv[c.pos]
			c.pos++
			if c.restLeft || !strings.HasPrefix(word, "-") || word == "-" {
				c.leftovers = append(c.leftovers, word)
				continue
			}
			if word == "--" {
				c.restLeft = true
				continue
			}
			if strings.HasPrefix(word, "--") {
				name := word[2:]
				if i := strings.IndexByte(name, '='); i >= 0 {
					longArg, hasLongArg = name[i+1:], true
					name = name[:i]
				}
				opt = findLong(name)
				if opt == nil {
					return r, false, poptErrBadOpt
				}
			} else {
				// A single-dash word never matches a long name in ipvsadm's table (no
				// POPT_ARGFLAG_ONEDASH), so it is a cluster of short options.
				c.cluster = word[1:]
			}
		}
		if opt == nil {
			ch := c.cluster[0]
			rest := c.cluster[1:]
			c.cluster = ""
			opt = findShort(ch)
			if opt == nil {
				return r, false, poptErrBadOpt
			}
			if rest != "" {
				if rest[0] == '=' {
					rest = rest[1:]
				}
				c.cluster = rest
			}
		}
		r.id = opt.id
		switch opt.kind {
		case argNone:
			if hasLongArg || strings.HasPrefix(c.cluster, "=") {
				return r, false, poptErrUnwantedArg
			}
		default:
			switch {
			case hasLongArg:
				r.arg, r.hasArg = longArg, true
			case c.cluster != "":
				r.arg, r.hasArg = strings.TrimPrefix(c.cluster, "="), true
				c.cluster = ""
			case c.pos >= len(c.argv):
				if opt.kind != argOptional {
					return r, false, poptErrNoArg
				}
			case opt.kind == argOptional && strings.HasPrefix(c.argv[c.pos], "-"):
				// popt leaves an optional argument out rather than take an option.
			default:
				r.arg, r.hasArg = c.argv[c.pos], true
				c.pos++
			}
		}
		return r, false, ""
	}
}

// badOption is the word popt blames for an error: the last one it read.
func (c *poptContext) badOption() string {
	if c.pos == 0 {
		return ""
	}
	return c.argv[c.pos-1]
}

// arg pops the next leftover word, as poptGetArg does.
func (c *poptContext) arg() (string, bool) {
	if len(c.leftovers) == 0 {
		return "", false
	}
	a := c.leftovers[0]
	c.leftovers = c.leftovers[1:]
	return a, true
}

func findLong(name string) *poptOption {
	for i := range poptTable {
		if poptTable[i].long == name {
			return &poptTable[i]
		}
	}
	return nil
}

func findShort(ch byte) *poptOption {
	if ch == 0 {
		return nil
	}
	for i := range poptTable {
		if poptTable[i].short == ch {
			return &poptTable[i]
		}
	}
	return nil
}
