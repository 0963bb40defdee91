package cachemounts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
)

// Type says what a Mount puts at its target for the duration of one build
// step. None of them ever reaches a layer.
type Type int

const (
	// Cache is a BuildKit persistent cache mount (ID, Sharing).
	Cache Type = iota
	// Tmp is an empty, disk-backed directory that is thrown away when the
	// step ends (a scratch mount without output).
	Tmp
	// File is a read-only file holding Content (tool configuration for the
	// step, such as apt's keep-cache settings).
	File
)

func (t Type) String() string {
	switch t {
	case Tmp:
		return "tmp"
	case File:
		return "file"
	default:
		return "cache"
	}
}

// Sharing is how concurrent steps use one cache (BuildKit's sharing modes).
//
// BuildKit keeps one or more instances (directories) of a cache, found by
// its id and mount source, whatever the sharing mode
// (solver/llbsolver/mounts, getRefCacheDir). A Shared step uses the one
// instance every Shared step is using; a Private or Locked step takes the
// first instance no other step is using, so no two of them ever write one
// directory at once. When every instance is in use, Private makes a new,
// empty one at once, and Locked waits until one is free.
type Sharing int

const (
	// Shared lets concurrent steps use the same directory at once; for tools
	// that write atomically or lock inside the cache themselves.
	Shared Sharing = iota
	// Private is for tools that fail or corrupt their cache when two
	// processes use it (apt, dnf, apk, yarn v1, RubyGems, cargo, maven,
	// gradle): a step never waits for another step's cache, so independent
	// images and artifacts run their package managers at the same time.
	// The price: a step that runs while the cache is in use starts from an
	// empty instance and downloads again; the instances then live side by
	// side (one per step that ran at the same time, each holding what its
	// steps fetched) until pruned, and a later step takes whichever free
	// instance BuildKit finds first, not the one that holds its packages.
	// Locked would keep one instance and fetch each package once, but it
	// holds the cache for the whole step, so the steps of independent
	// images that install packages ran one after the other.
	Private
	// Locked makes a concurrent step wait until an instance is free. The
	// steps that save and seed caches use it (see package llb): they must
	// read or fill an instance the build uses, never a new empty one.
	Locked
)

func (s Sharing) String() string {
	switch s {
	case Private:
		return "private"
	case Locked:
		return "locked"
	default:
		return "shared"
	}
}

// Mount is one mount of a user stage's build step.
type Mount struct {
	// Target is the absolute path in the step's container.
	Target string
	Type   Type
	// ID names a Cache; Sharing says how concurrent steps use it.
	ID      string
	Sharing Sharing
	// UID and GID own the root of a Cache or Tmp mount when BuildKit creates
	// it (0:0 unless the stage runs as another user).
	UID, GID int
	// Content is the content of a File mount.
	Content []byte
	// Env holds KEY=VALUE pairs set for the step only (never in the image
	// config), for tools that must be told where their cache is.
	Env []string
	// NotSaved names files at a Cache's root that the tool rebuilds on its
	// own: saving the caches for another runner leaves them out.
	NotSaved []string
	// Reason says why the mount is there, for the outline and progress
	// output: "apt package cache", "mount: build_dir".
	Reason string
	// Directive is true for mounts that come from `mount:`; their targets
	// stay as empty directories in the image (see MountPoints). Loc is the
	// directive in the Dappfile.
	Directive bool
	Loc       dappfile.Range
}

// Describe is a one-line, human-readable form of m for the outline.
func (m Mount) Describe() string {
	switch m.Type {
	case Cache:
		return fmt.Sprintf("cache %s (id %q, %s): %s", m.Target, m.ID, m.Sharing, m.Reason)
	default:
		return fmt.Sprintf("%s %s: %s", m.Type, m.Target, m.Reason)
	}
}

// Opt describes the stage that mounts are computed for.
type Opt struct {
	// Project namespaces build_dir and fromPath caches (`--opt project=NAME`;
	// the frontend defaults it to the build context directory's name). Empty
	// means "default".
	Project string
	// Namespace is BUILDKIT_CACHE_MOUNT_NS; it prefixes every cache ID so
	// tenants of one builder can keep their caches apart.
	Namespace string
	// UID and GID are the numeric ids of the stage's user; 0 is root.
	UID, GID int
	// Home is the stage user's home directory. Empty means /root for UID 0;
	// for other users it means "unknown", and caches that live under the
	// home are skipped rather than guessed.
	Home string
	// Env is the stage's environment (image config Env, KEY=VALUE). Tools'
	// cache locations follow it (GOPATH, CARGO_HOME, PIP_CACHE_DIR, ...).
	Env []string
	// Base identifies the distribution the stage runs on, normally the
	// `from:` image at the root of the stage's chain. It keys caches whose
	// content is binary for that distribution (pip's locally built wheels).
	// Empty keys them by project instead.
	Base string
	// Auto turns on the automatic package-manager caches of Detect.
	Auto bool
}

// idPrefix is the first element of every cache ID this package makes, so
// they never collide with caches of Dockerfile builds on the same builder
// (whose default IDs are the bare target paths).
const idPrefix = "dapp"

// cacheID joins parts into a cache ID under the namespace:
// "<ns>/dapp/<part>/<part>...". Empty parts are left out.
func (o Opt) cacheID(parts ...string) string {
	all := []string{strings.Trim(o.Namespace, "/"), idPrefix}
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			all = append(all, p)
		}
	}
	if all[0] == "" {
		all = all[1:]
	}
	return strings.Join(all, "/")
}

// owner returns the id suffix for caches owned by a non-root user: BuildKit
// keys a cache by ID and by the state that creates its root directory, so
// each owner gets a cache of its own anyway; the suffix makes that visible
// in `buildctl du`.
func (o Opt) owner() string { return ownerPart(o.UID, o.GID) }

func ownerPart(uid, gid int) string {
	if uid == 0 && gid == 0 {
		return ""
	}
	return fmt.Sprintf("uid-%d-gid-%d", uid, gid)
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// idPart makes a free-form value (project name, image reference) safe as one
// element of a cache ID.
func idPart(s string) string {
	s = unsafeIDChars.ReplaceAllString(s, "_")
	return strings.Trim(s, "_")
}

func (o Opt) project() string {
	if p := idPart(o.Project); p != "" {
		return p
	}
	return "default"
}
