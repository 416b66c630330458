package adm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// IPVSADMVersion is ipvsadm 1.31's -v line, which the golden files expect.
const IPVSADMVersion = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"

// Env is what one invocation runs with.
type Env struct {
	Prog    string // the program name messages and usage show: "ipvsadm", "govs adm"
	Version string // the -v line, also the first line of -h; IPVSADMVersion when empty
	Backend Backend
	// Resolver resolves names on input and, without -n, on output; nil resolves nothing.
	Resolver Resolver
	Stdin    io.Reader // -R reads its lines here
	Stdout   io.Writer
	Stderr   io.Writer
}

// Run executes one ipvsadm command line (argv without the program name) as ipvsadm 1.31's
// main does, and returns its exit status. With no arguments it lists the table.
func Run(env Env, argv []string) int {
	if env.Resolver == nil {
		env.Resolver = &Names{}
	}
	if env.Version == "" {
		env.Version = IPVSADMVersion
	}
	if len(argv) == 0 {
		WriteList(env.Stdout, env.Backend.Table(), env.Backend.Stats(), ListOptions{}, false, env.Resolver)
		return 0
	}
	code, _ := env.process(argv, false)
	return code
}

// process is ipvsadm's process_options. exit reports that ipvsadm would have called
// exit() rather than returned, which ends a -R restore at once.
func (env *Env) process(argv []string, readingStdin bool) (code int, exit bool) {
	cmd, err := Parse(env.Prog, argv, env.Resolver)
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			pe = &Error{Msg: err.Error(), Code: 2}
		}
		fmt.Fprintln(env.Stderr, pe.Msg)
		return pe.Code, !pe.Recoverable
	}
	b := env.Backend
	switch cmd.Op {
	case OpHelp:
		WriteUsage(env.Stdout, env.Prog, env.Version)
		return 0, true
	case OpVersion:
		fmt.Fprintln(env.Stdout, env.Version)
		return 0, true
	case OpList:
		l := cmd.List
		switch {
		case l.Conns:
			WriteConns(env.Stdout, b.Conns(), l, env.Resolver)
		case cmd.HasService:
			if !WriteService(env.Stdout, b.Table(), b.Stats(), cmd.Service.ServiceKey, l, env.Resolver) {
				fmt.Fprintln(env.Stderr, ipvsStrerror(OpList, syscall.ESRCH))
				return 1, true
			}
		case l.Timeout:
			WriteTimeouts(env.Stdout, b.Table().Timeouts)
		case l.Daemon:
			WriteDaemons(env.Stdout, b.Daemons())
		default:
			WriteList(env.Stdout, b.Table(), b.Stats(), l, false, env.Resolver)
		}
		return 0, false
	case OpSave:
		WriteList(env.Stdout, b.Table(), b.Stats(), cmd.List, true, env.Resolver)
		return 0, false
	case OpRestore:
		if readingStdin {
			fmt.Fprintln(env.Stderr, (&parser{prog: env.Prog}).tryHelp().Msg)
			return 255, true
		}
		return env.restore()
	}
	if err := b.Apply(cmd); err != nil {
		fmt.Fprintln(env.Stderr, err)
		return 255, false
	}
	return 0, false
}

// restore is ipvsadm's restore_table: every line of stdin is one invocation. A usage
// error ends it; a kernel error does not, and the last line decides the status.
func (env *Env) restore() (int, bool) {
	if env.Stdin == nil {
		return 0, false
	}
	lr := &lineReader{r: bufio.NewReader(env.Stdin)}
	result := 0
	for {
		words, ok := lr.next()
		if !ok {
			return result, false
		}
		if len(words) == 0 {
			continue
		}
		code, exit := env.process(words, true)
		if exit {
			return code, true
		}
		result = code
	}
}

// lineReader splits -R input as ipvsadm's config_stream_read does: words separated by
// spaces, tabs and carriage returns, one command per line, the word "ipvsadm" dropped
// wherever it stands. ('#' starts no comment: ipvsadm's test for one never fires.)
type lineReader struct {
	r   *bufio.Reader
	eof bool
}

// maxLineWord bounds one word as ipvsadm's MAX_LINE_LENGTH buffer does.
const maxLineWord = 4096

// next returns the words of the next line; ok is false at the end. A line that ends
// in blanks at the end of input is lost, as in ipvsadm.
func (lr *lineReader) next() (words []string, ok bool) {
	if lr.eof {
		return nil, false
	}
	var word strings.Builder
	inBlank := false
	for {
		c, err := lr.r.ReadByte()
		if err != nil {
			lr.eof = true
			if inBlank {
				return nil, false
			}
			if word.Len() > 0 {
				words = appendWord(words, word.String())
			}
			return words, len(words) > 0
		}
		switch c {
		case '\n':
			if word.Len() > 0 {
				words = appendWord(words, word.String())
			}
			return words, true
		case ' ', '\t', '\r':
			if word.Len() > 0 {
				words = appendWord(words, word.String())
				word.Reset()
			} else {
				inBlank = true
			}
		default:
			inBlank = false
			if word.Len() == maxLineWord {
				// fscanf's field width splits a longer word in two.
				words = appendWord(words, word.String())
				word.Reset()
			}
			word.WriteByte(c)
		}
	}
}

func appendWord(words []string, w string) []string {
	if w == "ipvsadm" {
		return words
	}
	return append(words, w)
}

// WriteUsage prints ipvsadm's -h text for the program name prog, after the version line.
func WriteUsage(w io.Writer, prog, version string) {
	fmt.Fprintln(w, version)
	fmt.Fprintf(w, "Usage:\n"+
		"  %[1]s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]\n"+
		"  %[1]s -D virtual-service\n"+
		"  %[1]s -C\n"+
		"  %[1]s -R\n"+
		"  %[1]s -S [-n]\n"+
		"  %[1]s -a|e virtual-service -r server-address [options]\n"+
		"  %[1]s -d virtual-service -r server-address\n"+
		"  %[1]s -L|l [virtual-service] [options]\n"+
		"  %[1]s -Z [virtual-service]\n"+
		"  %[1]s --set tcp tcpfin udp\n"+
		"  %[1]s --start-daemon {master|backup} [daemon-options]\n"+
		"  %[1]s --stop-daemon {master|backup}\n"+
		"  %[1]s -h\n\n", prog)
	io.WriteString(w, usageBody)
}

const usageBody = `Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
`
