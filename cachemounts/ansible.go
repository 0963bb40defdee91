package cachemounts

import (
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
)

// moduleTools maps an ansible module (without its collection) to the
// package managers it runs, as commands Detect understands. `package`
// picks the system's manager at run time: the caches of all of them are
// mounted, and the unused ones leave no trace.
var moduleTools = map[string][]string{
	"apt": {"apt-get"}, "apt_repository": {"apt-get"},
	"yum": {"yum"}, "dnf": {"dnf"}, "dnf5": {"dnf5"},
	"apk":     {"apk"},
	"package": {"apt-get", "dnf", "apk"},
	"npm":     {"npm"}, "yarn": {"yarn"}, "pnpm": {"pnpm"},
	"pip":      {"pip"},
	"composer": {"composer"},
	"gem":      {"gem"}, "bundler": {"bundle"},
	"maven_artifact": {"mvn"},
}

// TaskCommands are the commands an ansible stage runs as far as cache
// detection goes: the package managers behind its modules (apt, yum/dnf,
// apk, npm, pip, …) and the command lines of its command, shell and raw
// tasks.
func TaskCommands(tasks []*dappfile.AnsibleTask) []string {
	var out []string
	for _, t := range tasks {
		for _, m := range t.Modules {
			out = append(out, moduleTools[m[strings.LastIndex(m, ".")+1:]]...)
		}
		out = append(out, t.Commands...)
	}
	return out
}
