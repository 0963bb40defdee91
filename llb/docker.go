package llb

import (
	"sort"
	"strings"
	"time"

	"github.com/flant/dapp-frontend/dappfile"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// applyDocker writes the docker section into the image config. It adds no
// layer. Values follow the Dockerfile instructions of the same name:
// ENTRYPOINT without CMD drops an inherited CMD, EXPOSE defaults to tcp.
func applyDocker(img *dockerspec.DockerOCIImage, d *dappfile.Docker) error {
	applySpec(img, d.Spec)
	c := &img.Config
	for _, v := range d.Volume {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		c.Volumes[v] = struct{}{}
	}
	for _, p := range d.Expose {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		c.ExposedPorts[p] = struct{}{}
	}
	for _, kv := range d.Env {
		c.Env = setEnv(c.Env, kv.Key, kv.Value)
	}
	for _, kv := range d.Label {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[kv.Key] = kv.Value
	}
	if d.Entrypoint != nil {
		c.Entrypoint = commandArgs(d.Entrypoint)
		if d.Cmd == nil {
			c.Cmd = nil
		}
	}
	if d.Cmd != nil {
		c.Cmd = commandArgs(d.Cmd)
	}
	if d.Workdir != "" {
		c.WorkingDir = d.Workdir
	}
	if d.User != "" {
		c.User = d.User
	}
	c.OnBuild = append(c.OnBuild, d.Onbuild...)
	if d.StopSignal != "" {
		c.StopSignal = d.StopSignal
	}
	return applyHealthcheck(img, d.Healthcheck)
}

func commandArgs(cmd *dappfile.Command) []string {
	if cmd.IsShell {
		return []string{"/bin/sh", "-c", cmd.Shell}
	}
	return append([]string{}, cmd.Exec...)
}

func setEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

func applyHealthcheck(img *dockerspec.DockerOCIImage, h *dappfile.Healthcheck) error {
	if h == nil {
		return nil
	}
	hc := &dockerspec.HealthcheckConfig{Test: h.Test, Retries: h.Retries}
	for _, d := range []struct {
		key string
		in  string
		out *time.Duration
	}{{"interval", h.Interval, &hc.Interval}, {"timeout", h.Timeout, &hc.Timeout}, {"startPeriod", h.StartPeriod, &hc.StartPeriod}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return errors.Errorf("docker.HEALTHCHECK.%s: %q is not a duration (e.g. 30s, 1m)", d.key, d.in)
		}
		*d.out = v
	}
	img.Config.Healthcheck = hc
	return nil
}

// applyLabels adds `--label` values; they win over the Dappfile's LABEL.
func applyLabels(img *dockerspec.DockerOCIImage, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if img.Config.Labels == nil {
			img.Config.Labels = map[string]string{}
		}
		img.Config.Labels[k] = labels[k]
	}
}

// applySpec applies what only werf's imageSpec says: the author, and the
// inherited values it drops, before imageSpec's own values are set.
func applySpec(img *dockerspec.DockerOCIImage, s *dappfile.ImageSpec) {
	if s == nil {
		return
	}
	c := &img.Config
	if s.Author != "" {
		img.Author = s.Author
	}
	var env []string
	for _, e := range c.Env {
		if k, _, _ := strings.Cut(e, "="); !dappfile.MatchName(s.RemoveEnv, k) {
			env = append(env, e)
		}
	}
	c.Env = env
	for k := range c.Labels {
		if dappfile.MatchName(s.RemoveLabels, k) {
			delete(c.Labels, k)
		}
	}
	for _, v := range s.RemoveVolumes {
		delete(c.Volumes, v)
	}
	if s.ClearCmd {
		c.Cmd = nil
	}
	if s.ClearEntrypoint {
		c.Entrypoint = nil
	}
	if s.ClearUser {
		c.User = ""
	}
	if s.ClearWorkingDir {
		c.WorkingDir = ""
	}
}
