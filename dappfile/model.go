// Package dappfile reads a Dappfile (dapp's YAML build configuration): it
// renders the Go template, splits the YAML documents, decodes them strictly
// into a typed model that remembers where every value came from, and
// validates the result. It knows nothing of BuildKit.
package dappfile

// Position is a 1-based line and column in the original Dappfile (before
// template rendering).
type Position struct {
	Line   int
	Column int
}

// Range is a span of the original Dappfile, inclusive of both ends.
type Range struct {
	Start Position
	End   Position
}

// Kind says whether a document describes an image or an artifact.
type Kind int

const (
	// KindImage is a `dimg:` (werf: `image:`) document.
	KindImage Kind = iota
	// KindArtifact is an `artifact:` document.
	KindArtifact
)

func (k Kind) String() string {
	if k == KindArtifact {
		return "artifact"
	}
	return "dimg"
}

// StageName names a user stage: a shell section that becomes one build step.
type StageName string

// User stages in build order. BuildArtifact exists only in artifacts.
const (
	BeforeInstall StageName = "beforeInstall"
	Install       StageName = "install"
	BeforeSetup   StageName = "beforeSetup"
	Setup         StageName = "setup"
	BuildArtifact StageName = "buildArtifact"
)

// UserStages lists the user stages of an image in build order; artifacts
// add BuildArtifact at the end.
var UserStages = []StageName{BeforeInstall, Install, BeforeSetup, Setup}

// Config is a whole Dappfile: every image and artifact, in document order.
type Config struct {
	// Images holds images and artifacts in document order. A document that
	// names several images (`dimg: [a, b]`) yields one Image per name.
	Images []*Image
	// BuildArgs are the names the template read with `env`, sorted; the
	// outline subrequest lists them.
	BuildArgs []string
	// Meta is werf's meta document (`project`, `configVersion`, …); nil
	// when the file has none (a Dappfile never has one).
	Meta *Meta
}

// Meta is werf's meta document: the project's name and settings that are
// not about one image.
type Meta struct {
	Loc Range
	// Project is werf's project name: the default of the frontend's
	// `project` option.
	Project    string
	ProjectLoc Range
	// CacheVersion is `build.cacheVersion`: it changes every image's
	// cache keys.
	CacheVersion string
	// ImageSpec is `build.imageSpec` (author, labels, removeLabels): the
	// reader merges it into every final image's Docker.
	ImageSpec *Docker
}

// Image is one image or artifact document.
type Image struct {
	Kind Kind
	// Name is empty for the nameless image (`dimg: ~`). Artifact names may
	// contain spaces.
	Name string
	// Loc is the whole document; NameLoc the value of dimg/artifact.
	Loc     Range
	NameLoc Range

	// Exactly one of From, FromDimg, FromDimgArtifact is set.
	From             string
	FromDimg         string
	FromDimgArtifact string
	FromLoc          Range // the base key's value, whichever it is
	FromCacheVersion string

	Git   []*GitMapping
	Shell *Shell // nil when the document has no shell section
	// Ansible is nil when the document has no ansible section; a document
	// has at most one of Shell and Ansible.
	Ansible *Ansible
	Mounts  []*Mount
	Imports []*Import
	Docker  *Docker // nil when absent; always nil for artifacts
	// AsLayers is dapp's debug mode (one layer per command).
	AsLayers bool
	// AutoCache is the document's `autoCache:` switch for automatic
	// package-manager cache mounts; nil means on.
	AutoCache *bool

	// werf additions.

	// CacheVersion is werf's image-level `cacheVersion` (and the meta
	// document's `build.cacheVersion`): it changes the cache key of every
	// stage, like fromCacheVersion, without reaching the image.
	CacheVersion []string
	// Intermediate is werf's `final: false`: the image is built only as a
	// base or an import source, never picked as the default target.
	Intermediate bool
	// DisableGitAfterPatch is werf's `disableGitAfterPatch`: no gitCache
	// and gitLatestPatch stages.
	DisableGitAfterPatch bool
	// Dockerfile is set for werf's `dockerfile:` images, which have no
	// stapel stages: BuildKit's Dockerfile converter builds them.
	Dockerfile *DockerfileImage

	// Secrets and SSH are given to every user stage of this document, for
	// the length of each step (werf stapel's `secrets:`; dapp forwarded
	// the ssh agent).
	Secrets []*Secret
	SSH     []*SSH
}

// Secret is one entry of `secrets:`: a BuildKit build secret the client
// provides (`--secret id=ID,...`). It reaches a step as a file (To) or as
// an environment variable (ToEnv), never a layer or the image config.
type Secret struct {
	Loc Range
	// ID is the secret's id in the build (`--secret id=ID`).
	ID string
	// To is the absolute path of the file; "" when ToEnv is set.
	To string
	// ToEnv names the environment variable that holds the value instead.
	ToEnv string
	// Optional secrets may be missing: the file or variable is then absent.
	Optional bool
}

// SSH is one entry of `ssh:`: an ssh agent socket the client forwards
// (`--ssh ID`), with SSH_AUTH_SOCK pointing at the first one.
type SSH struct {
	Loc Range
	// ID is the forwarded socket's id, "default" for `--ssh default`.
	ID       string
	Optional bool
}

// DockerfileImage is a werf image built from a Dockerfile.
type DockerfileImage struct {
	// Loc is the value of `dockerfile:`.
	Loc Range
	// Dockerfile is the path of the Dockerfile relative to Context.
	Dockerfile string
	// Context is the build context's folder the Dockerfile builds,
	// relative to the build context's root ("" is the root).
	Context    string
	ContextLoc Range
	// Target is the Dockerfile stage to build ("" is the last one).
	Target string
	// Args are build args (`args:`), by name; they override the build's
	// own `--build-arg` values of the same name.
	Args []KeyValue
	// AddHost are `host:ip` entries for RUN steps.
	AddHost []string
	// Network is the RUN steps' network mode (default, none, host).
	Network string
}

// NoAutoCache reports whether the document turned automatic cache mounts
// off with `autoCache: false`.
func (img *Image) NoAutoCache() bool {
	return img.AutoCache != nil && !*img.AutoCache
}

// Shell holds the commands of the user stages.
type Shell struct {
	Loc Range
	// Stages maps a user stage to its commands; stages without commands are
	// absent.
	Stages map[StageName]*StageCommands
	// CacheVersion applies to every user stage.
	CacheVersion string
}

// StageCommands is one user stage of the shell section.
type StageCommands struct {
	Commands []string
	// CacheVersion is `<stage>CacheVersion`.
	CacheVersion string
	// Loc covers the stage's command list.
	Loc Range
}

// GitMapping is one entry of `git:`. URL is empty for the build context's
// own repository.
type GitMapping struct {
	Loc Range
	// As is dapp's optional custom name for the mapping.
	As     string
	URL    string
	Branch string
	Tag    string
	Commit string
	// Add is an absolute path in the repository ("/" by default); To is an
	// absolute path in the image.
	Add          string
	To           string
	Owner        string
	Group        string
	IncludePaths []string
	ExcludePaths []string
	// StageDependencies maps a user stage to globs relative to Add.
	StageDependencies map[StageName][]string
}

// MountFrom is the kind of a `mount:` entry.
type MountFrom string

const (
	// MountBuildDir is a cache shared by the project's images across builds.
	MountBuildDir MountFrom = "build_dir"
	// MountTmpDir lives for one build step only.
	MountTmpDir MountFrom = "tmp_dir"
	// MountFromPath is a host path (`fromPath:`); BuildKit cannot bind host
	// paths, so it becomes a named cache.
	MountFromPath MountFrom = "fromPath"
)

// Mount is one entry of `mount:`.
type Mount struct {
	Loc  Range
	From MountFrom
	// FromPath is set when From is MountFromPath.
	FromPath string
	To       string
}

// ImportPoint says where in the stage chain an import is applied.
type ImportPoint struct {
	// Before is true for `before:`, false for `after:`.
	Before bool
	// Stage is Install or Setup.
	Stage StageName
}

// Import is one entry of `import:`: files copied from an artifact or
// (werf) from an image.
type Import struct {
	Loc Range
	// Artifact names the artifact, or with werf's `image:` the image or
	// artifact, the files come from.
	Artifact string
	// AnyKind is set when the name came from werf's `import[].image`,
	// which may name an image as well as an artifact.
	AnyKind bool
	// Stage is werf's `import[].stage`: the files are taken as they are
	// right after that user stage of the source; "" takes the source's
	// final state.
	Stage        StageName
	Add          string
	To           string // defaults to Add
	Point        ImportPoint
	IncludePaths []string
	ExcludePaths []string
	Owner        string
	Group        string
}

// KeyValue is one entry of an ordered mapping (ENV, LABEL).
type KeyValue struct {
	Key   string
	Value string
}

// Command is ENTRYPOINT or CMD: a list is the exec form, a string the
// shell form.
type Command struct {
	Exec  []string
	Shell string
	// IsShell is true for the string form.
	IsShell bool
}

// Healthcheck is werf's HEALTHCHECK addition.
type Healthcheck struct {
	// Test is the command; ["NONE"] disables an inherited check.
	Test        []string
	Interval    string
	Timeout     string
	StartPeriod string
	Retries     int
}

// Docker is the `docker:` section: the result's image config.
type Docker struct {
	Loc         Range
	Volume      []string
	Expose      []string
	Env         []KeyValue // document order
	Label       []KeyValue // document order
	Entrypoint  *Command
	Cmd         *Command
	Workdir     string
	User        string
	Onbuild     []string
	StopSignal  string
	Healthcheck *Healthcheck
	// Spec holds what only werf's `imageSpec` says; nil for `docker:`.
	Spec *ImageSpec
}

// ImageSpec is the part of werf's `imageSpec` that `docker:` has no words
// for: the author, and what to drop from the inherited config, applied
// before the values.
type ImageSpec struct {
	Author string
	// RemoveEnv, RemoveLabels: names, or /regexp/ patterns.
	RemoveEnv, RemoveLabels, RemoveVolumes                []string
	ClearCmd, ClearEntrypoint, ClearUser, ClearWorkingDir bool
}
