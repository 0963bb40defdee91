package dappfile

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// healthcheckKeys are the keys of a HEALTHCHECK mapping, named after the
// Dockerfile flags (--interval, --timeout, --start-period, --retries).
var healthcheckKeys = []string{"test", "interval", "timeout", "startPeriod", "retries"}

// decodeHealthcheck reads HEALTHCHECK: either a mapping, or a string in
// Dockerfile syntax as werf wrote it ("--interval=5s CMD curl -f ...",
// "NONE"), or just a shell command.
func (d *docDecoder) decodeHealthcheck(n *yaml.Node, p string) *Healthcheck {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return d.healthcheckString(n, p)
	}
	hc := &Healthcheck{}
	for _, f := range d.fields(n, p, healthcheckKeys) {
		kp := p + "." + f.key
		switch f.key {
		case "test":
			hc.Test = d.healthcheckTest(f.v, kp)
		case "retries":
			hc.Retries = d.integer(f.v, kp)
			if hc.Retries < 0 {
				d.errorf(f.v, "`%s` must not be negative, got %d", kp, hc.Retries)
			}
		default:
			*healthcheckDuration(hc, f.key) = d.duration(f.v, kp)
		}
	}
	if hc.Test == nil && deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "`%s` needs `test`: the command to run, or NONE", p)
	}
	return hc
}

// checkTest refuses a test with no command: Docker would store it and
// the check would fail at run time.
func (d *docDecoder) checkTest(n *yaml.Node, p string, test []string) []string {
	empty := len(test) == 0
	if len(test) > 0 && test[0] != "NONE" {
		empty = len(test) == 1 || len(test) == 2 && strings.TrimSpace(test[1]) == ""
	}
	if empty {
		d.errorf(n, "`%s` must not be empty: give the command to run, or NONE to turn an inherited check off", p)
	}
	return test
}

func healthcheckDuration(hc *Healthcheck, key string) *string {
	return map[string]*string{"interval": &hc.Interval, "timeout": &hc.Timeout, "startPeriod": &hc.StartPeriod}[key]
}

// healthcheckTest: a string is a shell command, a list an exec form unless
// it already starts with NONE, CMD or CMD-SHELL.
func (d *docDecoder) healthcheckTest(n *yaml.Node, p string) []string {
	if n = deref(n); n.Kind == yaml.ScalarNode {
		return d.checkTest(n, p, shellTest(d.str(n, p)))
	}
	list, _ := d.strList(n, p)
	if len(list) > 0 && contains([]string{"NONE", "CMD", "CMD-SHELL"}, list[0]) {
		return d.checkTest(n, p, list)
	}
	return d.checkTest(n, p, append([]string{"CMD"}, list...))
}

func shellTest(cmd string) []string {
	if strings.TrimSpace(cmd) == "NONE" {
		return []string{"NONE"}
	}
	return []string{"CMD-SHELL", cmd}
}

func (d *docDecoder) duration(n *yaml.Node, p string) string {
	v := d.str(n, p)
	if dur, err := time.ParseDuration(v); err != nil && v != "" {
		d.errorf(n, "`%s` must be a duration such as \"30s\", got %q", p, v)
	} else if dur < 0 {
		d.errorf(n, "`%s` must not be negative, got %q", p, v)
	}
	return v
}

// healthcheckString parses the Dockerfile form: flags, then CMD or NONE.
func (d *docDecoder) healthcheckString(n *yaml.Node, p string) *Healthcheck {
	hc := &Healthcheck{}
	rest := strings.TrimSpace(n.Value)
	for strings.HasPrefix(rest, "--") {
		flag, tail, _ := strings.Cut(rest, " ")
		d.healthcheckFlag(hc, n, p, flag)
		rest = strings.TrimSpace(tail)
	}
	cmd, ok := strings.CutPrefix(rest+" ", "CMD ")
	if !ok {
		hc.Test = d.checkTest(n, p, shellTest(rest))
		return hc
	}
	var exec []string
	if err := json.Unmarshal([]byte(cmd), &exec); err == nil {
		hc.Test = d.checkTest(n, p, append([]string{"CMD"}, exec...))
		return hc
	}
	hc.Test = d.checkTest(n, p, shellTest(strings.TrimSpace(cmd)))
	return hc
}

func (d *docDecoder) healthcheckFlag(hc *Healthcheck, n *yaml.Node, p, flag string) {
	name, val, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
	key := map[string]string{"interval": "interval", "timeout": "timeout", "start-period": "startPeriod"}[name]
	if dur, err := time.ParseDuration(val); key != "" && err == nil && dur >= 0 {
		*healthcheckDuration(hc, key) = val
		return
	}
	if r, err := strconv.Atoi(val); name == "retries" && err == nil && r >= 0 {
		hc.Retries = r
		return
	}
	d.errorf(n, "`%s`: bad option %q (want --interval, --timeout or --start-period with a duration, or --retries with a number, none negative)", p, flag)
}
