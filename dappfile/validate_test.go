package dappfile

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// base is a valid image start for cases about later keys (lines 1-2).
const base = "dimg: app\nfrom: alpine\n"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, input, err string
	}{
		// keys and types
		{"unknown key", base + "fromDimgs: x\n", "Dappfile:3:1: unknown key \"fromDimgs\" (did you mean \"fromDimg\"?)"},
		{"unknown git key", base + "git:\n- too: /app\n", "Dappfile:4:3: unknown key \"too\" in `git[0]` (did you mean \"to\"?)"},
		{"docker key case", base + "docker:\n  env: {A: b}\n", "Dappfile:4:3: unknown key \"env\" in `docker` (did you mean \"ENV\"?)"},
		{"unknown key no suggestion", base + "zzz: 1\n", "Dappfile:3:1: unknown key \"zzz\""},
		{"duplicate key", base + "from: debian\n", "Dappfile:3:1: duplicate key \"from\" (first at line 2)"},
		{"stage mapping", base + "shell:\n  install: {a: b}\n", "Dappfile:4:12: `shell.install` must be a string or a list of strings, got mapping"},
		{"stage item", base + "shell:\n  install: [[a]]\n", "Dappfile:4:13: `shell.install[0]` must be a string, got list"},
		{"git not list", base + "git: {to: /app}\n", "Dappfile:3:6: `git` must be a list, got mapping"},
		{"git entry not mapping", base + "git: [/app]\n", "Dappfile:3:7: `git[0]` must be a mapping, got string"},
		{"from not string", "dimg: a\nfrom: [alpine]\n", "Dappfile:2:7: `from` must be a string, got list"},
		{"asLayers", base + "asLayers: maybe\n", "Dappfile:3:11: `asLayers` must be true or false, got \"maybe\""},
		{"env list", base + "docker:\n  ENV: [A=b]\n", "Dappfile:4:8: `docker.ENV` must be a mapping of names to values, got list"},
		{"env value", base + "docker:\n  ENV: {A: [b]}\n", "Dappfile:4:12: `docker.ENV.A` must be a string, got list"},
		{"healthcheck duration", base + "docker:\n  HEALTHCHECK: {test: x, interval: soon}\n", "Dappfile:4:36: `docker.HEALTHCHECK.interval` must be a duration such as \"30s\", got \"soon\""},
		{"healthcheck test", base + "docker:\n  HEALTHCHECK: {interval: 1s}\n", "Dappfile:4:16: `docker.HEALTHCHECK` needs `test`"},
		{"healthcheck retries", base + "docker:\n  HEALTHCHECK: {test: x, retries: x}\n", "Dappfile:4:35: `docker.HEALTHCHECK.retries` must be a whole number, got \"x\""},
		{"healthcheck flag", base + "docker:\n  HEALTHCHECK: --every=1s CMD x\n", "Dappfile:4:16: `docker.HEALTHCHECK`: bad option \"--every=1s\""},

		// documents
		{"not a mapping", "- a\n- b\n", "Dappfile:1:1: a document must be a mapping with a `dimg` or `artifact` key, got list"},
		{"no name key", "from: alpine\n", "Dappfile:1:1: a document needs `dimg: <name>` or `artifact: <name>`"},
		{"dimg and artifact", "dimg: a\nartifact: b\nfrom: x\n", "Dappfile:2:1: `dimg` and `artifact` cannot be used in one document"},
		{"empty dimg list", "dimg: []\nfrom: x\n", "Dappfile:1:7: `dimg` must name at least one image"},
		{"empty artifact name", base + "---\nartifact: ''\nfrom: x\n", "Dappfile:4:11: `artifact` needs a name"},
		{"yaml syntax", base + "shell:\n  install: [a\n", "Dappfile:4:1: invalid YAML: did not find expected ',' or ']'"},
		{"ruby dump", "--- !ruby/object:Dapp::Config::Config\n_dimg: []\n", "Dappfile:1:1: \"--- !ruby/object:Dapp::Config::Config\": ruby tag \"!ruby/object:Dapp::Config::Config\" marks dapp's internal config dump format, not a Dappfile: it is not supported"},
		{"ruby tag inside", base + "shell: !ruby/object:Foo {}\n", "Dappfile:3:8: ruby tag \"!ruby/object:Foo\" marks dapp's internal config dump format"},
		{"separator with content", base + "--- foo\n", "Dappfile:3:1: a document separator `---` must be alone on its line"},

		// builders
		{"ansible task not a mapping", base + "ansible:\n  install: [apt-get install curl]\n", "Dappfile:4:13: `ansible.install[0]` must be an ansible task (a mapping such as `apt: name=curl`), got string"},
		{"ansible task without module", base + "ansible:\n  install:\n  - name: nothing\n    when: true\n", "Dappfile:5:5: `ansible.install[0]` names no module: a task needs one, such as `shell: make` or `apt: name=curl`"},
		{"ansible task with two modules", base + "ansible:\n  install:\n  - apt: name=curl\n    regster: out\n", "Dappfile:5:5: `ansible.install[0]` has more than one module: apt, regster; a task runs one (`regster`: did you mean `register`?)"},
		{"ansible block task without module", base + "ansible:\n  setup:\n  - block:\n    - name: x\n", "Dappfile:5:5: `ansible.setup[0].block[0]` names no module"},
		{"ansible buildArtifact in dimg", base + "ansible:\n  buildArtifact: [{raw: ls}]\n", "Dappfile:4:3: `ansible.buildArtifact` is only allowed in an artifact"},
		{"ansible unknown stage", base + "ansible:\n  instal: [{raw: ls}]\n", "Dappfile:4:3: unknown key \"instal\" in `ansible` (did you mean \"install\"?)"},
		{"chef", base + "chef:\n  recipe: main\n", "Dappfile:3:1: `chef` is not supported"},
		{"shell and ansible", base + "shell: {}\nansible: {}\n", "Dappfile:4:1: `shell` and `ansible` cannot be used together"},

		// names
		{"empty file", "", "Dappfile: no image: a Dappfile needs at least one `dimg` document"},
		{"only artifacts", "# c\nartifact: a\nfrom: x\n", "Dappfile:2:11: no image: a Dappfile needs at least one `dimg` document"},
		{"duplicate dimg", base + "---\ndimg: app\nfrom: x\n", "Dappfile:4:7: duplicate dimg name \"app\" (first at line 1)"},
		{"duplicate in list", "dimg: [a, a]\nfrom: x\n", "Dappfile:1:7: duplicate dimg name \"a\" (first at line 1)"},
		{"duplicate artifact", base + "---\nartifact: t\nfrom: x\n---\nartifact: t\nfrom: x\n", "Dappfile:7:11: duplicate artifact name \"t\" (first at line 4)"},
		{"image and artifact", base + "---\nartifact: app\nfrom: x\n", "Dappfile:4:11: artifact \"app\" has the same name as the dimg at line 1"},
		{"nameless among several", "dimg: ~\nfrom: x\n---\ndimg: b\nfrom: x\n", "Dappfile:1:7: a dimg without a name is only allowed when it is the only dimg (found 2)"},

		// base
		{"no base", "dimg: app\nshell: {}\n", "Dappfile:1:1: dimg \"app\" has no base image: set one of `from`, `fromDimg` or `fromDimgArtifact`"},
		{"two bases", base + "fromDimg: x\n", "Dappfile:3:1: `from` and `fromDimg` cannot be used together: an image has one base"},
		{"alias bases", base + "fromImageArtifact: x\n", "Dappfile:3:1: `from` and `fromImageArtifact` cannot be used together"},
		{"empty from", "dimg: a\nfrom: ''\n", "Dappfile:2:7: `from` must not be empty"},
		{"unknown fromDimg", "dimg: app\nfromDimg: bsae\n---\ndimg: base\nfrom: x\n", "Dappfile:2:11: `fromDimg` names unknown dimg \"bsae\" (did you mean \"base\"?)"},
		{"own fromDimg", "dimg: app\nfromDimg: app\n", "Dappfile:2:11: `fromDimg` refers to its own dimg \"app\""},
		{"fromDimgArtifact names dimg", base + "---\ndimg: b\nfromDimgArtifact: app\n", "Dappfile:5:19: `fromDimgArtifact` names \"app\", which is a dimg, not an artifact"},
		{"fromDimg names artifact", base + "---\ndimg: b\nfromDimg: t\n---\nartifact: t\nfrom: x\n", "Dappfile:5:11: `fromDimg` names \"t\", which is an artifact, not a dimg"},
		{"cycle", "dimg: a\nfromDimg: b\n---\ndimg: b\nfromDimg: a\n", "Dappfile:5:11: dependency cycle through `fromDimg`: dimg \"a\" -> dimg \"b\" -> dimg \"a\""},
		{"cycle through import", base + "---\nartifact: x\nfrom: y\nimport: [{artifact: y, add: /a, after: setup}]\n---\nartifact: y\nfromDimgArtifact: x\n",
			"Dappfile:9:19: dependency cycle through `fromDimgArtifact`: artifact \"x\" -> artifact \"y\" -> artifact \"x\""},

		// kinds
		{"docker in artifact", base + "---\nartifact: t\nfrom: x\ndocker: {}\n", "Dappfile:6:1: `docker` is not allowed in an artifact"},
		{"buildArtifact in dimg", base + "shell:\n  buildArtifact: [make]\n", "Dappfile:4:3: `shell.buildArtifact` is only allowed in an artifact"},
		{"buildArtifactCacheVersion in dimg", base + "shell:\n  buildArtifactCacheVersion: 1\n", "Dappfile:4:3: `shell.buildArtifactCacheVersion` is only allowed in an artifact"},
		{"stageDependencies buildArtifact in dimg", base + "git:\n- to: /app\n  stageDependencies: {buildArtifact: a}\n", "Dappfile:5:23: `git[0].stageDependencies.buildArtifact` is only allowed in an artifact"},

		// hostile values: refused with their location, never passed on
		{"expose word", base + "docker:\n  EXPOSE: [abc]\n", "Dappfile:4:12: `docker.EXPOSE[0]` must be a port (1-65535) or a range (8000-8010), optionally followed by /tcp, /udp or /sctp, got \"abc\": \"abc\" is not a number"},
		{"expose range", base + "docker:\n  EXPOSE: [70000/tcp]\n", "port 70000 is out of range"},
		{"expose negative", base + "docker:\n  EXPOSE: ['-1']\n", "got \"-1\": port -1 is out of range"},
		{"expose protocol", base + "docker:\n  EXPOSE: [80/xyz]\n", "unknown protocol \"xyz\""},
		{"healthcheck negative", base + "docker:\n  HEALTHCHECK: {test: x, interval: -1s}\n", "Dappfile:4:36: `docker.HEALTHCHECK.interval` must not be negative, got \"-1s\""},
		{"healthcheck retries negative", base + "docker:\n  HEALTHCHECK: {test: x, retries: -1}\n", "`docker.HEALTHCHECK.retries` must not be negative, got -1"},
		{"healthcheck empty test", base + "docker:\n  HEALTHCHECK: {test: []}\n", "`docker.HEALTHCHECK.test` must not be empty"},
		{"env key with =", base + "docker:\n  ENV: {A=B: c}\n", "Dappfile:4:9: `docker.ENV` name \"A=B\" must not contain `=`"},
		{"env duplicate", base + "docker:\n  ENV: {A: b, A: c}\n", "Dappfile:4:15: duplicate name \"A\" in `docker.ENV` (first at line 4)"},
		{"label duplicate", base + "docker:\n  LABEL: {a: b, a: c}\n", "duplicate name \"a\" in `docker.LABEL`"},
		{"volume newline", base + "docker:\n  VOLUME: [\"/a\\nb\"]\n", "`docker.VOLUME[0]` must not contain control characters"},
		{"user newline", base + "docker:\n  USER: \"a\\nb\"\n", "`docker.USER` must not contain control characters"},
		{"stopsignal", base + "docker:\n  STOPSIGNAL: SIGTREM\n", "`docker.STOPSIGNAL` names unknown signal \"SIGTREM\" (did you mean \"SIGTERM\"?)"},
		{"workdir relative", base + "docker:\n  WORKDIR: app\n", "(\"/app\" when that is /)"},
		{"mount proc", base + "mount:\n- {from: tmp_dir, to: /proc/x}\n", "`mount[0].to` must not be /proc or below it"},
		{"name escape", "dimg: \"a\\e[31m\"\nfrom: x\n", "Dappfile:1:7: `dimg` must not contain control characters"},
		{"url ext", base + "git:\n- url: 'ext::sh -c x'\n  to: /a\n", "uses git's transport syntax \"ext::\""},
		{"url file", base + "git:\n- url: file:///etc\n  to: /a\n", "must be a remote repository, got local path"},
		{"url option", base + "git:\n- url: --upload-pack=x\n  to: /a\n", "`git[0].url` must not start with `-`"},
		{"commit not hex", base + "git:\n- url: https://h/r\n  commit: main\n  to: /a\n", "`git[0].commit` must be a full commit id"},
		{"branch option", base + "git:\n- url: https://h/r\n  branch: -x\n  to: /a\n", "`git[0].branch` must not start with `-`"},
		{"dotdot to", base + "git:\n- to: /app/../etc\n", "`git[0].to` must not contain `..`, got \"/app/../etc\""},
		{"dotdot include", base + "git:\n- to: /app\n  includePaths: [../x]\n", "`git[0].includePaths` must not contain `..`"},
		{"dotdot stageDependencies", base + "git:\n- to: /app\n  stageDependencies: {install: [a/../..]}\n", "`git[0].stageDependencies.install` must not contain `..`"},

		// git
		{"git to missing", base + "git:\n- add: /src\n", "Dappfile:4:3: `git[0]` needs `to`"},
		{"git to relative", base + "git:\n- to: app\n", "Dappfile:4:7: `git[0].to` must be an absolute path, got \"app\""},
		{"git add relative", base + "git:\n- add: src\n  to: /app\n", "Dappfile:4:8: `git[0].add` must be an absolute path, got \"src\""},
		{"git include absolute", base + "git:\n- to: /app\n  includePaths: [a, /b]\n", "Dappfile:5:21: `git[0].includePaths` must hold paths relative to `add`, got absolute path \"/b\""},
		{"git exclude absolute", base + "git:\n- to: /app\n  excludePaths: /b\n", "Dappfile:5:17: `git[0].excludePaths` must hold paths relative to `add`"},
		{"stageDependencies absolute", base + "git:\n- to: /app\n  stageDependencies:\n    setup: [/x]\n", "Dappfile:6:13: `git[0].stageDependencies.setup` must hold paths relative to `add`, got absolute path \"/x\""},
		{"stageDependencies unknown stage", base + "git:\n- to: /app\n  stageDependencies:\n    instal: [x]\n", "Dappfile:6:5: unknown key \"instal\" in `git[0].stageDependencies` (did you mean \"install\"?)"},
		{"stageDependencies beforeInstall", base + "git:\n- to: /app\n  stageDependencies:\n    beforeInstall: [x]\n", "Dappfile:6:5: `git[0].stageDependencies.beforeInstall` is not allowed: beforeInstall runs before the sources are added"},
		{"local branch", base + "git:\n- to: /app\n  branch: main\n", "Dappfile:5:3: `git[0].branch` is only allowed with `url`"},
		{"remote two refs", base + "git:\n- url: https://x/y.git\n  to: /app\n  tag: v1\n  commit: abc\n", "Dappfile:7:3: `git[0].commit` cannot be used with `tag`: set at most one of branch, tag or commit"},

		// import
		{"import no artifact", base + "import:\n- add: /a\n  after: setup\n", "Dappfile:4:3: `import[0]` needs `artifact`"},
		{"import no point", base + "import:\n- artifact: t\n  add: /a\n---\nartifact: t\nfrom: x\n", "Dappfile:4:3: `import[0]` needs `before` or `after` (install or setup)"},
		{"import both points", base + "import:\n- artifact: t\n  add: /a\n  before: install\n  after: setup\n", "Dappfile:7:3: `import[0].after` cannot be used with `before`"},
		{"import bad stage", base + "import:\n- artifact: t\n  add: /a\n  before: instal\n", "Dappfile:6:11: `import[0].before` must be \"install\" or \"setup\", got \"instal\" (did you mean \"install\"?)"},
		{"import no add", base + "import:\n- artifact: t\n  after: setup\n---\nartifact: t\nfrom: x\n", "Dappfile:4:3: `import[0]` needs `add`"},
		{"import add relative", base + "import:\n- artifact: t\n  add: a\n  after: setup\n", "Dappfile:5:8: `import[0].add` must be an absolute path, got \"a\""},
		{"import to relative", base + "import:\n- {artifact: t, add: /a, to: b, after: setup}\n", "Dappfile:4:30: `import[0].to` must be an absolute path, got \"b\""},
		{"import unknown artifact", base + "import:\n- {artifact: tols, add: /a, after: setup}\n---\nartifact: tools\nfrom: x\n", "Dappfile:4:14: `import[0].artifact` names unknown artifact \"tols\" (did you mean \"tools\"?)"},
		{"import of a dimg", base + "---\ndimg: b\nfrom: x\nimport:\n- {artifact: app, add: /a, after: setup}\n", "Dappfile:7:14: `import[0].artifact` names \"app\", which is a dimg, not an artifact"},
		{"import own artifact", base + "---\nartifact: t\nfrom: x\nimport:\n- {artifact: t, add: /a, after: setup}\n", "Dappfile:7:14: `import[0].artifact` refers to its own artifact \"t\""},
		{"import artifact and image", base + "import:\n- {artifact: t, image: t, add: /a, after: setup}\n", "Dappfile:4:17: `import[0].image` cannot be used with `artifact`"},

		// mount
		{"mount both", base + "mount:\n- from: tmp_dir\n  fromPath: /x\n  to: /t\n", "Dappfile:5:3: `mount[0].fromPath` cannot be used with `from`: a mount has one source"},
		{"mount neither", base + "mount:\n- to: /t\n", "Dappfile:4:3: `mount[0]` needs `from` (build_dir or tmp_dir) or `fromPath`"},
		{"mount bad from", base + "mount:\n- from: build-dir\n  to: /t\n", "Dappfile:4:9: `mount[0].from` must be \"build_dir\" or \"tmp_dir\", got \"build-dir\" (did you mean \"build_dir\"?)"},
		{"mount no to", base + "mount:\n- from: tmp_dir\n", "Dappfile:4:3: `mount[0]` needs `to`"},
		{"mount to relative", base + "mount:\n- from: tmp_dir\n  to: t\n", "Dappfile:5:7: `mount[0].to` must be an absolute path, got \"t\""},
		{"mount duplicate", base + "mount:\n- {from: tmp_dir, to: /t}\n- {from: build_dir, to: /t/}\n", "Dappfile:5:25: `mount[1].to` \"/t/\" is already mounted (line 4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseAsDappfile([]byte(tc.input), ParseOpt{})
			require.ErrorContains(t, err, tc.err)
			require.NotRegexp(t, `dappfile\.|\*yaml|map\[|\[\]string`, err.Error(), "no Go type names")
		})
	}
}
