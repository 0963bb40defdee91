package cachemounts

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
)

// FromDirectives turns an image's `mount:` entries into mounts for each of
// its user stages:
//
//   - build_dir: a persistent cache shared by every image of the project
//     and kept between builds, ID "<ns>/dapp/project/<project>/build_dir/<to>";
//   - tmp_dir: an empty directory that lives for one build step and is
//     discarded;
//   - fromPath: BuildKit cannot bind host paths, so a persistent cache named
//     after the host path, ID "<ns>/dapp/project/<project>/fromPath/<path>"
//     (images mounting the same host path share it, as on a host), plus a
//     warning.
//
// Caches are Shared, like dapp's plain host directories. The result is
// sorted by target. Errors are *dappfile.LocationError.
func FromDirectives(ms []*dappfile.Mount, opt Opt) ([]Mount, []dappfile.Warning, error) {
	var (
		out   []Mount
		warns []dappfile.Warning
		errs  []error
	)
	for _, d := range ms {
		m, w, err := fromDirective(d, opt)
		if err != nil {
			errs = append(errs, &dappfile.LocationError{Ranges: []dappfile.Range{d.Loc}, Err: err})
			continue
		}
		out = append(out, m)
		if w != "" {
			warns = append(warns, dappfile.Warning{Range: d.Loc, Message: w})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, warns, err
	}
	sortByTarget(out)
	return out, warns, nil
}

func fromDirective(d *dappfile.Mount, opt Opt) (Mount, string, error) {
	if !path.IsAbs(d.To) {
		return Mount{}, "", fmt.Errorf("mount target %q must be an absolute path", d.To)
	}
	to := path.Clean(d.To)
	if to == "/" {
		return Mount{}, "", errors.New("mount target cannot be the root directory")
	}
	m := Mount{Target: to, UID: opt.UID, GID: opt.GID, Directive: true, Loc: d.Loc}
	switch d.From {
	case dappfile.MountBuildDir:
		m.Type, m.Sharing, m.Reason = Cache, Shared, "mount: build_dir"
		m.ID = opt.cacheID("project", opt.project(), "build_dir", to, opt.owner())
		return m, "", nil
	case dappfile.MountTmpDir:
		m.Type, m.Reason = Tmp, "mount: tmp_dir"
		return m, "", nil
	case dappfile.MountFromPath:
		if !path.IsAbs(d.FromPath) {
			return Mount{}, "", fmt.Errorf("fromPath %q must be an absolute path", d.FromPath)
		}
		m.Type, m.Sharing, m.Reason = Cache, Shared, "mount: fromPath "+d.FromPath
		m.ID = opt.cacheID("project", opt.project(), "fromPath", path.Clean(d.FromPath), opt.owner())
		w := fmt.Sprintf("fromPath %q: BuildKit cannot bind host paths; %s is a persistent build cache (id %q) instead, empty until a build writes to it",
			d.FromPath, to, m.ID)
		return m, w, nil
	default:
		return Mount{}, "", fmt.Errorf("unknown mount source %q (expected build_dir, tmp_dir or fromPath)", d.From)
	}
}

// Merge combines an image's directive mounts with the automatic ones of a
// stage. A directive wins over an automatic mount with the same target (a
// user's `build_dir` at /var/cache/apt replaces the automatic apt cache,
// while the apt configuration that makes apt keep its packages stays). The
// result is sorted by target.
func Merge(directives, auto []Mount) []Mount {
	out := slices.Clone(directives)
	for _, a := range auto {
		if !slices.ContainsFunc(out, func(m Mount) bool { return m.Target == a.Target }) {
			out = append(out, a)
		}
	}
	sortByTarget(out)
	return out
}

// MountPoints returns the targets of directive mounts, sorted. Like dapp,
// they must exist as empty directories in the image: BuildKit removes the
// mount points it had to create after each step, so llb/ creates these
// (MkdirAll, 0755) once, on the state after the image's last user stage;
// see llb's withMountPoints.
func MountPoints(ms []Mount) []string {
	var out []string
	for _, m := range ms {
		if m.Directive && !slices.Contains(out, m.Target) {
			out = append(out, m.Target)
		}
	}
	slices.Sort(out)
	return out
}

// SortedByTarget is a copy of ms in target order (stable), the order in
// which llb/ adds the mounts to a step, so the LLB does not depend on the
// order they were decided in.
func SortedByTarget(ms []Mount) []Mount {
	ms = slices.Clone(ms)
	sortByTarget(ms)
	return ms
}

func sortByTarget(ms []Mount) {
	slices.SortStableFunc(ms, func(a, b Mount) int { return strings.Compare(a.Target, b.Target) })
}
