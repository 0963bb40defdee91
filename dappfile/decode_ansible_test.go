package dappfile

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeAnsibleTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tasks    string
		yaml     string
		modules  []string
		commands []string
		label    string
	}{
		{
			name:    "free form module",
			tasks:   "  - apt: name=curl update_cache=yes\n",
			yaml:    "apt: name=curl update_cache=yes\n",
			modules: []string{"apt"}, label: "apt",
		},
		{
			name:     "named shell task with args and keywords",
			tasks:    "  - name: build\n    shell: make all\n    args: {chdir: /app}\n    register: out\n    with_items: [a]\n",
			yaml:     "name: build\nshell: make all\nargs: {chdir: /app}\nregister: out\nwith_items: [a]\n",
			modules:  []string{"shell"},
			commands: []string{"make all"}, label: "build",
		},
		{
			name:     "command with cmd and collection names",
			tasks:    "  - ansible.builtin.command:\n      cmd: pip install x\n  - community.general.npm: {path: /app}\n",
			yaml:     "ansible.builtin.command:\n  cmd: pip install x\n",
			modules:  []string{"ansible.builtin.command"},
			commands: []string{"pip install x"}, label: "ansible.builtin.command",
		},
		{
			name:     "action keyword",
			tasks:    "  - action: raw apk add curl\n",
			yaml:     "action: raw apk add curl\n",
			modules:  []string{"raw"},
			commands: []string{"apk add curl"}, label: "raw",
		},
		{
			name:     "block",
			tasks:    "  - name: grp\n    block:\n    - yum: name=git\n    rescue:\n    - raw: dnf install -y git\n",
			yaml:     "name: grp\nblock:\n  - yum: name=git\nrescue:\n  - raw: dnf install -y git\n",
			modules:  []string{"yum", "raw"},
			commands: []string{"dnf install -y git"}, label: "grp",
		},
		{
			name:    "aliases are expanded, anchors dropped",
			tasks:   "  - file: &f {path: /x, state: directory}\n  - file: *f\n",
			yaml:    "file: {path: /x, state: directory}\n",
			modules: []string{"file"}, label: "file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := parseAsDappfile([]byte("dimg: a\nfrom: alpine\nansible:\n  install:\n"+tc.tasks), ParseOpt{})
			require.NoError(t, err)
			st := cfg.Images[0].Ansible.Stages[Install]
			require.NotEmpty(t, st.Tasks)
			task := st.Tasks[0]
			require.Equal(t, tc.yaml, task.YAML)
			require.Equal(t, tc.modules, task.Modules)
			require.Equal(t, tc.commands, task.Commands)
			require.Equal(t, tc.label, task.Label())
			require.Equal(t, 5, task.Loc.Start.Line)
			if strings.Contains(tc.name, "aliases") {
				require.Equal(t, tc.yaml, st.Tasks[1].YAML)
			}
		})
	}
}

func TestDecodeAnsibleAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("dimg: a\nfrom: alpine\nansible:\n  install:\n  - debug:\n      a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i < 5; i++ { // 10^5 nodes: under the document bound, over the task bound
		b.WriteString("      a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, _, err := parseAsDappfile([]byte(b.String()), ParseOpt{})
	require.ErrorContains(t, err, "Dappfile:5:5: `ansible.install[0]` expands to more than 20000 YAML nodes")
}
