package dappfile

import (
	"path"
	"regexp"

	"gopkg.in/yaml.v3"
)

// werf.yaml is read by the same decoder as a Dappfile: werf's stapel is
// dapp with a few keys renamed or added. What only werf has lives here and
// in werf_*.go: the meta document, `dockerfile:` images, and the keys that
// are refused by name with what to do instead.

// docType tells the three kinds of werf documents apart; a Dappfile has
// only stapel documents.
type docType int

const (
	docStapel docType = iota
	docDockerfile
	docMeta
)

// classify says which kind of document the mapping n is: werf's meta
// document carries `configVersion` (or `project`), a Dockerfile image
// `dockerfile`; anything else is read as a stapel image or artifact.
func classify(n *yaml.Node) docType {
	has := map[string]bool{}
	for _, f := range mappingPairs(n) {
		has[f.key] = true
	}
	switch {
	case has["dockerfile"]:
		return docDockerfile
	case has["dimg"] || has["image"] || has["artifact"]:
		return docStapel
	case has["configVersion"] || has["project"]:
		return docMeta
	}
	return docStapel
}

// decodeWerfField reads a werf-only key of a stapel document.
func (d *docDecoder) decodeWerfField(im *Image, key string, f field) {
	switch key {
	case "final":
		if d.kind == KindArtifact {
			d.errorf(f.k, "`final` is not allowed in an artifact: an artifact is never a final image")
			return
		}
		im.Intermediate = !d.boolean(f.v, key)
	case "cacheVersion":
		if v := d.str(f.v, key); v != "" {
			im.CacheVersion = append(im.CacheVersion, v)
		}
	case "disableGitAfterPatch":
		if d.kind == KindArtifact {
			d.errorf(f.k, "`disableGitAfterPatch` is not allowed in an artifact: an artifact has no gitCache or gitLatestPatch stage")
			return
		}
		im.DisableGitAfterPatch = d.boolean(f.v, key)
	case "fromLatest", "herebyIAdmitThatFromLatestMightBreakReproducibility":
		// The base image's tag is resolved to its current digest on every
		// build, which is what fromLatest asks werf for; the digest is in
		// the build definition, so the cache follows the base image.
		d.boolean(f.v, key)
	}
}

// indexRE strips list indexes from a key path: import[2] → import.
var indexRE = regexp.MustCompile(`\[\d+\]`)

// refusal is the message for a werf key that is known but not supported
// at path, or "".
func (d *docDecoder) refusal(path, key string) string {
	p := indexRE.ReplaceAllString(path, "")
	if msg, ok := werfRefusals[refusalKey{d.docType, p, key}]; ok {
		return msg
	}
	if d.docType == docDockerfile && p == "" && contains(documentKeys, key) {
		return "`" + key + "` is a stapel key: a `dockerfile:` image is built by its Dockerfile alone (move the steps into the Dockerfile, or make this a stapel image without `dockerfile:`)"
	}
	if d.docType == docStapel && p == "" && contains(dockerfileDocKeys, key) {
		return "`" + key + "` belongs to a `dockerfile:` image: add `dockerfile: PATH` to build this image from a Dockerfile, or remove it"
	}
	return ""
}

type refusalKey struct {
	doc  docType
	path string
	key  string
}

const (
	refusePlatform = "`platform` is not supported in the file: remove it and pass the platforms to the build (buildx: --platform linux/amd64,linux/arm64; buildctl: --opt platform=...)"
	refuseDeps     = "`dependencies` is not supported: werf passes another image's registry name, tag or digest, which one BuildKit build does not have; build on another image with `fromImage` or copy its files with `import`"
)

// werfRefusals are werf keys that are refused, by where they stand, with
// what to do instead. Keys werf has that are read are in the key lists of
// each section.
var werfRefusals = map[refusalKey]string{
	{docStapel, "", "platform"}:                    refusePlatform,
	{docStapel, "", "dependencies"}:                refuseDeps,
	{docStapel, "imageSpec", "clearHistory"}:       "`imageSpec.clearHistory` is not supported: BuildKit writes the history of the layers it exports",
	{docStapel, "imageSpec.config", "healthcheck"}: "`imageSpec.config.healthcheck` is not supported: use `docker:` with HEALTHCHECK instead of `imageSpec`",

	{docDockerfile, "", "platform"}:     refusePlatform,
	{docDockerfile, "", "dependencies"}: refuseDeps,
	{docDockerfile, "", "imageSpec"}:    "`imageSpec` is not supported: set the image config in the Dockerfile (LABEL, ENV, USER, WORKDIR, ENTRYPOINT, CMD, EXPOSE, VOLUME, HEALTHCHECK)",
	{docDockerfile, "", "cacheVersion"}: "`cacheVersion` is not supported for `dockerfile:` images: BuildKit keys the Dockerfile's steps by their content; rebuild them with --no-cache-filter NAME, or change the Dockerfile",

	{docMeta, "build", "platform"}:               refusePlatform,
	{docMeta, "build.imageSpec", "clearHistory"}: "`build.imageSpec.clearHistory` is not supported: BuildKit writes the history of the layers it exports",
	{docMeta, "build", "sbom"}:                   "`build.sbom` is not supported in the file: ask BuildKit for an SBOM attestation instead (buildx: --sbom=true; buildctl: --opt attest:sbom=)",
}

// isWerf reports whether the file is a werf.yaml: by its name
// (ParseOpt.Werf), or because a meta document came before this one.
// werf's spellings are then the file's own and earn no warning.
func (p *parser) isWerf() bool {
	return p.meta != nil || p.werf
}

// WerfNames are the file names of a werf.yaml, whatever folder holds it.
var WerfNames = []string{"werf.yaml", "werf.yml"}

// IsWerfFile reports whether a file's name says it is a werf.yaml, for
// ParseOpt.Werf and LoadOpt.Werf.
func IsWerfFile(name string) bool {
	base := path.Base(name)
	for _, n := range WerfNames {
		if base == n {
			return true
		}
	}
	return false
}
