package dappfile

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// shellKeys are the keys of `shell:`: the stages and their cache versions.
var shellKeys = []string{
	"beforeInstall", "install", "beforeSetup", "setup", "buildArtifact", "cacheVersion",
	"beforeInstallCacheVersion", "installCacheVersion", "beforeSetupCacheVersion",
	"setupCacheVersion", "buildArtifactCacheVersion",
}

// decodeShell reads `shell:`. A stage's cache version is kept only when the
// stage has commands: an empty stage builds nothing.
func (d *docDecoder) decodeShell(n *yaml.Node) *Shell {
	sh := &Shell{Loc: d.rng(n), Stages: map[StageName]*StageCommands{}}
	var versions map[StageName]string
	sh.CacheVersion, versions = d.decodeSection(n, "shell", func(stage StageName, v *yaml.Node, path string) {
		d.decodeStage(sh, stage, v, path)
	})
	for stage, v := range versions {
		if sc := sh.Stages[stage]; sc != nil {
			sc.CacheVersion = v
		}
	}
	return sh
}

// decodeSection walks the keys of a builder section (`shell:` or
// `ansible:`, named by section): each stage's value goes to stage; the
// section-wide cacheVersion and the `<stage>CacheVersion`s come back.
func (d *docDecoder) decodeSection(n *yaml.Node, section string, stage func(StageName, *yaml.Node, string)) (string, map[StageName]string) {
	var version string
	versions := map[StageName]string{}
	for _, f := range d.fields(n, section, shellKeys) {
		path := section + "." + f.key
		if strings.HasPrefix(f.key, string(BuildArtifact)) && !d.allowBuildArtifact(f.k, path) {
			continue
		}
		switch {
		case f.key == "cacheVersion":
			version = d.str(f.v, path)
		case strings.HasSuffix(f.key, "CacheVersion"):
			versions[StageName(strings.TrimSuffix(f.key, "CacheVersion"))] = d.str(f.v, path)
		default:
			stage(StageName(f.key), f.v, path)
		}
	}
	return version, versions
}

func (d *docDecoder) decodeStage(sh *Shell, stage StageName, n *yaml.Node, path string) {
	cmds, _ := d.strList(n, path)
	if len(cmds) > 0 {
		sh.Stages[stage] = &StageCommands{Commands: cmds, Loc: d.rng(n)}
	}
}

// allowBuildArtifact reports whether the buildArtifact stage may be used
// here: only artifacts have it.
func (d *docDecoder) allowBuildArtifact(k *yaml.Node, path string) bool {
	if d.kind == KindArtifact {
		return true
	}
	d.errorf(k, "`%s` is only allowed in an artifact: a dimg has no buildArtifact stage", path)
	return false
}
