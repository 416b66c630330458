package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/nsrun"
)

func init() {
	commands["adm"] = command{
		summary: "ipvsadm's command line against the running daemon (govs adm -h)",
		run:     runAdm,
	}
}

// admStdin is where -R reads its rules; tests replace it.
var admStdin io.Reader = os.Stdin

// admTimeout bounds one call to the daemon.
const admTimeout = 60 * time.Second

// runAdm is `govs adm [--socket PATH] IPVSADM-ARGS...`. Usage errors, -h and -v are
// answered here, without the daemon; everything else runs in the daemon, which owns the
// table, and its output and exit status are passed through.
func runAdm(args []string, stdout, stderr io.Writer) int {
	flag, argv, err := splitSocketFlag(args)
	if err != nil {
		fmt.Fprintf(stderr, "govs adm: %v\n", err)
		return 2
	}
	path := ctl.SocketPath(flag, nsrun.Current())
	req := ctl.Request{Argv: argv}
	if len(argv) > 0 {
		cmd, err := adm.Parse(ctl.Prog, argv, &adm.SystemResolver{})
		if err != nil {
			var pe *adm.Error
			if !errors.As(err, &pe) {
				pe = &adm.Error{Msg: err.Error(), Code: 2}
			}
			fmt.Fprintln(stderr, pe.Msg)
			return pe.Code
		}
		switch cmd.Op {
		case adm.OpHelp:
			adm.WriteUsage(stdout, ctl.Prog, ctl.Version)
			fmt.Fprintf(stdout, "govs Options:\n"+
				"  --socket path                       the daemon's control socket (default $%s, else %s)\n",
				ctl.SocketEnv, ctl.DefaultSocket)
			return 0
		case adm.OpVersion:
			fmt.Fprintln(stdout, ctl.Version)
			return 0
		case adm.OpRestore:
			in, err := io.ReadAll(io.LimitReader(admStdin, ctl.MaxMessage/2+1))
			if err != nil {
				fmt.Fprintf(stderr, "govs adm: reading the rules to restore: %v\n", err)
				return 2
			}
			if len(in) > ctl.MaxMessage/2 {
				fmt.Fprintf(stderr, "govs adm: more than %d bytes of rules to restore\n", ctl.MaxMessage/2)
				return 2
			}
			req.Stdin = in
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), admTimeout)
	defer cancel()
	resp, err := ctl.Call(ctx, path, req)
	if err != nil {
		fmt.Fprintf(stderr, "govs adm: cannot reach the govs daemon at %s: %v\n"+
			"Is `govs run` running? Choose the socket with --socket PATH or $%s.\n", path, err, ctl.SocketEnv)
		return 2
	}
	io.WriteString(stdout, resp.Stdout)
	io.WriteString(stderr, resp.Stderr)
	return resp.Code
}

// splitSocketFlag takes --socket PATH or --socket=PATH out of the arguments, wherever it
// stands (ipvsadm has no option of that name), and returns the rest for ipvsadm.
func splitSocketFlag(args []string) (path string, rest []string, err error) {
	seen := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return path, append(rest, args[i:]...), nil
		case a == "--socket":
			if i+1 >= len(args) || args[i+1] == "" {
				return "", nil, fmt.Errorf("--socket needs a path")
			}
			if seen {
				return "", nil, fmt.Errorf("--socket given twice")
			}
			path, seen = args[i+1], true
			i++
		case strings.HasPrefix(a, "--socket="):
			if seen || a == "--socket=" {
				return "", nil, fmt.Errorf("--socket needs one path")
			}
			path, seen = strings.TrimPrefix(a, "--socket="), true
		default:
			rest = append(rest, a)
		}
	}
	return path, rest, nil
}
