package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/daemon"
)

func init() {
	commands["check"] = command{
		summary: "check a keepalived.conf (like keepalived -t); --dump json prints the resolved model",
		run:     runCheck,
	}
}

// runCheck parses a configuration and lists every problem: exit 0 when it is valid
// (warnings go to stderr), 1 when it has errors, 2 for a usage error.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("govs check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", config.DefaultPath, "configuration file")
	id := fs.String("i", "", "config id for @ID lines (default: the short host name)")
	strict := fs.Bool("strict", false, "treat warnings as errors")
	dump := fs.String("dump", "", "print the resolved model: json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: govs check [-f FILE] [-i ID] [--strict] [--dump json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "govs check: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *dump != "" && *dump != "json" {
		fmt.Fprintf(stderr, "govs check: --dump %q: only json is supported\n", *dump)
		return 2
	}
	cfg, diags, err := checkConfig(config.Options{ConfigID: *id, Strict: *strict}, *file)
	fmt.Fprint(stderr, diags.String())
	if diags.HasErrors() {
		fmt.Fprintf(stderr, "%s: %d error(s), %d warning(s)\n", *file, len(diags.Errors()), len(diags.Warnings()))
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n%s: 1 error(s), %d warning(s)\n", err, *file, len(diags.Warnings()))
		return 1
	}
	if *dump == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			fmt.Fprintf(stderr, "govs check: %v\n", err)
			return 1
		}
	}
	return 0
}

// checkConfig loads file as govs run does, asking about every interface it names, and
// maps it as run would: the diagnostics, and, once the file parses, what run would
// still refuse (a regex RE2 cannot run, a service it cannot map, a VRRP fault).
func checkConfig(opts config.Options, file string) (*config.Config, config.Diagnostics, error) {
	opts.RandomSeed = time.Now().UnixNano()
	opts.InterfaceExists = func(name string) bool {
		_, err := net.InterfaceByName(name)
		return err == nil
	}
	cfg, diags := config.Load(file, opts)
	if diags.HasErrors() {
		return cfg, diags, nil
	}
	plan, err := daemon.NewPlan(cfg)
	if err == nil {
		err = plan.VRRPErr
	}
	return cfg, diags, err
}
