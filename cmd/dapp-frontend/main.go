// Command dapp-frontend is the BuildKit frontend for Dappfiles. Run by
// BuildKit (as the image behind `# syntax=` or `--frontend gateway.v0`) it
// serves the gateway API over stdin/stdout; logs go to stderr only.
//
// Debug subcommands work without a daemon:
//
//	dapp-frontend llb -f Dappfile --context DIR [--target NAME]
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/flant/dapp-frontend/cachemounts"
	"github.com/flant/dapp-frontend/frontend"
	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	collectLessOften()
	if len(os.Args) > 1 {
		if err := runSubcommand(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "dapp-frontend:", err)
			os.Exit(1)
		}
		return
	}
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintln(os.Stderr, "dapp-frontend:", err)
		os.Exit(1)
	}
}

// collectLessOften lets the heap grow to five times its live size between
// collections, not twice, while it stays under softMemoryLimit: the
// frontend lives for one build (its helpers, inside the build, for one
// step) and allocates most of what it reads once (the read-ahead of .git,
// blobs, the definition); at the default pace it spent about 7 ms of CPU
// per no-op build collecting. GOGC and GOMEMLIMIT, when set, win.
func collectLessOften() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}

// softMemoryLimit is the memory the collector works to stay under,
// collecting more often as it nears it (runtime/debug.SetMemoryLimit): a
// big repository's build is not let to grow five times its live heap.
const softMemoryLimit = 512 << 20

func runSubcommand(name string, args []string) error {
	switch name {
	case "llb":
		return dumpLLB(args, os.Stdout, os.Stderr)
	case gitsource.ExportCommand:
		// hidden: run by the frontend's own ExecOps for git steps too big
		// to inline (see gitllb.ExportEnv), not by users
		return runGitExport(args)
	case frontend.ReadAheadCommand:
		// hidden: run by the frontend's own ExecOp that reads .git ahead
		// inside the build (see frontend.RunReadAhead), not by users
		return frontend.RunReadAhead(args)
	case cachemounts.SaveCommand, cachemounts.SeedCommand:
		// hidden: run by the frontend's own ExecOps that save the build's
		// cache mounts and seed them (see llb.SaveCacheMounts), not by users
		return runCacheTransfer(name, args)
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stdout, "usage: dapp-frontend llb -f Dappfile --context DIR [--target NAME] [--build-arg K=V]")
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (known: llb)", name)
}
