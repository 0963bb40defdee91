package dappfile

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Ansible holds the tasks of the user stages: dapp's ansible builder. Each
// stage becomes one playbook run by the toolchain's ansible-playbook
// against the stage container itself.
type Ansible struct {
	Loc Range
	// Stages maps a user stage to its tasks; stages without tasks are
	// absent.
	Stages map[StageName]*StageTasks
	// CacheVersion applies to every user stage.
	CacheVersion string
}

// StageTasks is one user stage of the ansible section.
type StageTasks struct {
	Tasks []*AnsibleTask
	// CacheVersion is `<stage>CacheVersion`.
	CacheVersion string
	// Loc covers the stage's task list.
	Loc Range
}

// AnsibleTask is one task, kept as written: the playbook gets its YAML
// unchanged (Go templates rendered, YAML aliases expanded).
type AnsibleTask struct {
	Loc Range
	// YAML is the task mapping as a YAML document.
	YAML string
	// Name is the task's `name:`, if any.
	Name string
	// Modules are the modules the task runs (its own, and those of the
	// tasks of a block/rescue/always), as written ("apt",
	// "community.general.npm").
	Modules []string
	// Commands are the command lines of command/shell/raw tasks among
	// them; package-manager caches are detected from them.
	Commands []string
}

// Label names a task for progress output and errors: its name, else its
// module.
func (t *AnsibleTask) Label() string {
	if t.Name != "" {
		return t.Name
	}
	if len(t.Modules) > 0 {
		return t.Modules[0]
	}
	return "task"
}

// taskKeywords are the keys of a task that are not its module (ansible's
// task, block and role keywords); with_* loops are matched by prefix.
var taskKeywords = map[string]bool{
	"name": true, "args": true, "async": true, "poll": true, "become": true, "become_user": true,
	"become_method": true, "become_flags": true, "become_exe": true, "changed_when": true,
	"check_mode": true, "collections": true, "connection": true, "debugger": true, "delay": true,
	"delegate_facts": true, "delegate_to": true, "diff": true, "environment": true, "failed_when": true,
	"ignore_errors": true, "ignore_unreachable": true, "loop": true, "loop_control": true,
	"module_defaults": true, "no_log": true, "notify": true, "port": true, "register": true,
	"remote_user": true, "retries": true, "run_once": true, "tags": true, "throttle": true,
	"timeout": true, "until": true, "vars": true, "when": true, "any_errors_fatal": true,
	"listen": true,
}

func keywordList() []string {
	out := make([]string, 0, len(taskKeywords))
	for k := range taskKeywords {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// blockKeys hold nested task lists.
var blockKeys = []string{"block", "rescue", "always"}

// commandModules take a command line, as a free-form value or `cmd:`.
var commandModules = map[string]bool{"command": true, "shell": true, "raw": true}

// maxTaskNodes bounds the YAML nodes of one task once aliases are
// expanded, so an alias bomb cannot blow up the playbook.
const maxTaskNodes = 20000

// decodeAnsible reads `ansible:`; its keys are those of `shell:`.
func (d *docDecoder) decodeAnsible(n *yaml.Node) *Ansible {
	an := &Ansible{Loc: d.rng(n), Stages: map[StageName]*StageTasks{}}
	var versions map[StageName]string
	an.CacheVersion, versions = d.decodeSection(n, "ansible", func(stage StageName, v *yaml.Node, path string) {
		if tasks := d.decodeTasks(v, path); len(tasks) > 0 {
			an.Stages[stage] = &StageTasks{Tasks: tasks, Loc: d.rng(v)}
		}
	})
	for stage, v := range versions {
		if st := an.Stages[stage]; st != nil {
			st.CacheVersion = v
		}
	}
	return an
}

// decodeTasks reads a stage's task list: each item a mapping with one
// module.
func (d *docDecoder) decodeTasks(n *yaml.Node, path string) []*AnsibleTask {
	var out []*AnsibleTask
	for i, item := range d.list(n, path) {
		p := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			d.errorf(item, "`%s` must be an ansible task (a mapping such as `apt: name=curl`), got %s", p, typeName(item))
			continue
		}
		budget := maxTaskNodes
		plain, ok := expandAliases(item, &budget)
		if !ok {
			d.errorf(item, "`%s` expands to more than %d YAML nodes", p, maxTaskNodes)
			continue
		}
		t := &AnsibleTask{Loc: d.rng(item)}
		if !d.taskActions(plain, item, p, t, 0) {
			continue
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(plain); err != nil {
			d.errorf(item, "`%s` cannot be written back as YAML: %v", p, err)
			continue
		}
		t.YAML = buf.String()
		out = append(out, t)
	}
	return out
}

// taskActions finds the module of task (plain, aliases expanded; orig
// carries the positions) and of its nested block tasks, filling t.
func (d *docDecoder) taskActions(plain, orig *yaml.Node, path string, t *AnsibleTask, depth int) bool {
	if depth > 16 {
		d.errorf(orig, "`%s`: blocks nested deeper than 16 levels", path)
		return false
	}
	var modules []string
	var nested bool
	for i := 0; i+1 < len(plain.Content); i += 2 {
		k, v := plain.Content[i], plain.Content[i+1]
		switch key := k.Value; {
		case k.Tag == "!!merge":
			// merged keywords (`<<: *defaults`) are options, not modules
		case key == "name" && depth == 0:
			if v.Kind == yaml.ScalarNode {
				t.Name = v.Value
			}
		case taskKeywords[key] || strings.HasPrefix(key, "with_"):
		case contains(blockKeys, key):
			nested = true
			if v.Kind != yaml.SequenceNode {
				d.errorf(orig, "`%s.%s` must be a list of tasks, got %s", path, key, typeName(v))
				return false
			}
			for j, sub := range v.Content {
				if sub.Kind != yaml.MappingNode {
					d.errorf(orig, "`%s.%s[%d]` must be an ansible task, got %s", path, key, j, typeName(sub))
					return false
				}
				if !d.taskActions(sub, orig, fmt.Sprintf("%s.%s[%d]", path, key, j), t, depth+1) {
					return false
				}
			}
		case key == "action" || key == "local_action":
			mod, cmd := freeFormAction(v)
			modules = append(modules, mod)
			t.addModule(mod, cmd)
		default:
			modules = append(modules, key)
			t.addModule(key, commandOf(key, v, plain))
		}
	}
	switch {
	case len(modules) > 1:
		hint := " (is a keyword misspelt?)"
		for _, m := range modules {
			if s := suggest(m, keywordList()); s != "" {
				hint = fmt.Sprintf(" (`%s`: did you mean `%s`?)", m, s)
				break
			}
		}
		d.errorf(orig, "`%s` has more than one module: %s; a task runs one%s", path, strings.Join(modules, ", "), hint)
		return false
	case len(modules) == 0 && !nested:
		d.errorf(orig, "`%s` names no module: a task needs one, such as `shell: make` or `apt: name=curl`", path)
		return false
	}
	return true
}

func (t *AnsibleTask) addModule(mod, cmd string) {
	t.Modules = append(t.Modules, mod)
	if cmd != "" {
		t.Commands = append(t.Commands, cmd)
	}
}

// shortModule is a module name without its collection:
// ansible.builtin.shell is shell.
func shortModule(mod string) string {
	return mod[strings.LastIndex(mod, ".")+1:]
}

// commandOf is the command line of a command/shell/raw task: its free-form
// value or its `cmd` (as a value or under `args`).
func commandOf(mod string, v, task *yaml.Node) string {
	if !commandModules[shortModule(mod)] {
		return ""
	}
	if v.Kind == yaml.ScalarNode {
		return v.Value
	}
	if c := mapValue(v, "cmd"); c != "" {
		return c
	}
	if args := mapNode(task, "args"); args != nil {
		return mapValue(args, "cmd")
	}
	return ""
}

// freeFormAction splits `action: shell make all` into the module and,
// for command modules, the command.
func freeFormAction(v *yaml.Node) (string, string) {
	if v.Kind == yaml.MappingNode {
		mod := mapValue(v, "module")
		return mod, commandOf(mod, v, v)
	}
	mod, rest, _ := strings.Cut(strings.TrimSpace(v.Value), " ")
	if commandModules[shortModule(mod)] {
		return mod, rest
	}
	return mod, ""
}

func mapNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapValue(n *yaml.Node, key string) string {
	if v := mapNode(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// expandAliases copies n with every alias replaced by a copy of its
// anchored node and anchors dropped, so the task stands alone in the
// playbook. It fails when the copy would pass *budget nodes.
func expandAliases(n *yaml.Node, budget *int) (*yaml.Node, bool) {
	n = deref(n)
	if *budget--; *budget < 0 {
		return nil, false
	}
	c := *n
	c.Anchor = ""
	c.Content = nil
	for _, child := range n.Content {
		cc, ok := expandAliases(child, budget)
		if !ok {
			return nil, false
		}
		c.Content = append(c.Content, cc)
	}
	return &c, true
}
