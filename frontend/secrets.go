package frontend

import (
	"fmt"
	"regexp"

	"github.com/flant/dapp-frontend/dappfile"
	dappllb "github.com/flant/dapp-frontend/llb"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
)

// BuildKit learns that a secret or an ssh socket is missing only when the
// step that mounts it starts, and says so in words only (the typed error
// does not cross the gateway): "secret ID: not found" from the session,
// `no SSH key "ID" forwarded from the client` when the client forwards no
// agent at all, "unset ssh forward key ID" when it forwards others.
var (
	missingSecretRE = regexp.MustCompile(`secret ([A-Za-z0-9_][A-Za-z0-9_.-]*): not found`)
	missingSSHRE    = regexp.MustCompile(`no SSH key "([^"]+)" forwarded from the client|unset ssh forward key ([A-Za-z0-9_][A-Za-z0-9_.-]*)`)
)

// explainMissingSecret turns BuildKit's report of a missing secret or ssh
// socket into one that names it, points at the Dappfile entry asking for
// it and says how to pass it. Other errors pass unchanged.
func explainMissingSecret(err error, cfg *dappfile.Config, img *dappfile.Image, sm *bkllb.SourceMap) error {
	if err == nil || img == nil {
		return err
	}
	secrets, ssh := dappllb.Secrets(cfg, img)
	var msg string
	var loc dappfile.Range
	if m := missingSecretRE.FindStringSubmatch(err.Error()); m != nil {
		for _, s := range secrets {
			if s.ID == m[1] {
				msg = fmt.Sprintf("secret %q is required but the build was given none: pass it with `--secret id=%s,src=FILE` or `--secret id=%s,env=VAR` (buildx and buildctl), or set `required: false`", s.ID, s.ID, s.ID)
				loc = s.Loc
			}
		}
	}
	if m := missingSSHRE.FindStringSubmatch(err.Error()); m != nil {
		id := m[1] + m[2]
		for _, s := range ssh {
			if s.ID == id {
				msg = fmt.Sprintf("ssh %q is required but the build forwards no such socket: pass `--ssh %s` (buildx and buildctl; `--ssh %s=$SSH_AUTH_SOCK` for a given agent), or set `required: false`", s.ID, s.ID, s.ID)
				loc = s.Loc
			}
		}
	}
	if msg == "" {
		return err
	}
	le := &dappfile.LocationError{Ranges: []dappfile.Range{loc}, Err: fmt.Errorf("%s: %w", msg, err)}
	out := explain("", le)
	if sm != nil {
		out = errdefs.WithSource(out, &errdefs.Source{
			Info:   &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language, Definition: sm.Definition.ToPB()},
			Ranges: dappllb.PBRanges(loc),
		})
	}
	return out
}

// outlineSecrets lists the secrets and ssh ids of the target for the
// outline subrequest, as the Dockerfile frontend lists its secret and ssh
// mounts.
func outlineSecrets(cfg *dappfile.Config, img *dappfile.Image, o *outline.Outline) {
	secrets, ssh := dappllb.Secrets(cfg, img)
	for _, s := range secrets {
		o.Secrets = append(o.Secrets, outline.Secret{Name: s.ID, Required: !s.Optional, Location: location(s.Loc)})
	}
	for _, s := range ssh {
		o.SSH = append(o.SSH, outline.SSH{Name: s.ID, Required: !s.Optional, Location: location(s.Loc)})
	}
}
