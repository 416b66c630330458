// Command govs is a keepalived + LVS compatible load-balancing director: VRRP failover of
// virtual addresses, health checks of real servers, and L4 balancing through a data plane.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// command is one subcommand. run returns the process exit status.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is filled by each subcommand's file in its init function, so adding one
// touches one file.
var commands = map[string]command{}

// The main goroutine keeps the main thread, so the goroutines that take threads of
// their own (threadprio: vrrp_rt_priority and the like) never end on it, where the
// runtime would park the thread for good, settings and all, instead of ending it.
func init() { runtime.LockOSThread() }

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	case "-v", "--version", "version":
		fmt.Fprintf(stdout, "govs %s\n", version)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "govs: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: govs <command> [options]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n  --version   print the version")
	fmt.Fprintln(w, "\nRun 'govs <command> --help' for a command's options.")
}
