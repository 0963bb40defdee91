package main

import (
	"flag"
	"os"
	"slices"
	"strings"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/pkg/errors"
)

// parseTransferArgs parses the arguments cachemounts.TransferOpt.Args
// writes.
func parseTransferArgs(name string, args []string) (cachemounts.TransferOpt, error) {
	var o cachemounts.TransferOpt
	var mounts listFlag
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.StringVar(&o.Saved, "saved", "", "the saved content's root")
	fl.Int64Var(&o.MaxSize, "max-size", 0, "bytes of regular files copied at most")
	fl.Var(&mounts, "mount", "DIR=PATH: the cache saved under DIR is mounted at PATH (repeatable)")
	var notSaved listFlag
	fl.Var(&notSaved, "not-saved", "DIR=NAME: a save leaves NAME at the root of DIR's cache out (repeatable)")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	usage := errors.Errorf("usage: %s --saved DIR --max-size BYTES [--mount DIR=PATH]... [--not-saved DIR=NAME]...", name)
	if o.Saved == "" || o.MaxSize <= 0 || fl.NArg() > 0 {
		return o, usage
	}
	for _, m := range mounts {
		dir, p, ok := strings.Cut(m, "=")
		if !ok || p == "" {
			return o, usage
		}
		o.Mounts = append(o.Mounts, cachemounts.TransferMount{Dir: dir, Path: p})
	}
	for _, kv := range notSaved {
		dir, name, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(o.Mounts, func(m cachemounts.TransferMount) bool { return m.Dir == dir })
		if i < 0 || name == "" {
			return o, usage
		}
		o.Mounts[i].NotSaved = append(o.Mounts[i].NotSaved, name)
	}
	return o, nil
}

// runCacheTransfer is the hidden cache-save and cache-seed subcommands:
// each writes what it did to each cache on stdout, the step's log.
func runCacheTransfer(name string, args []string) error {
	o, err := parseTransferArgs(name, args)
	if err != nil {
		return err
	}
	o.Log = os.Stdout
	if name == cachemounts.SaveCommand {
		return cachemounts.Save(o)
	}
	return cachemounts.Seed(o)
}
