package llb

import (
	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
)

// secretRunOptions gives a user step the image's build secrets and ssh
// sockets. BuildKit mounts them for that step only: a secret file is a
// tmpfs outside the layer, a secret variable is set in the step's process
// alone, and neither value is in the definition (only the id is), so the
// value never reaches a layer, the image config, the LLB or the cache key.
// A secret whose value changes therefore does not rerun a stage: change a
// cacheVersion to force it.
func secretRunOptions(img *dappfile.Image) []bkllb.RunOption {
	var opts []bkllb.RunOption
	for _, s := range img.Secrets {
		sopts := []bkllb.SecretOption{bkllb.SecretID(s.ID)}
		if s.Optional {
			sopts = append(sopts, bkllb.SecretOptional)
		}
		if s.ToEnv != "" {
			sopts = append(sopts, bkllb.SecretAsEnvName(s.ToEnv))
			opts = append(opts, bkllb.AddSecretWithDest(s.ID, nil, sopts...))
			continue
		}
		to := s.To
		opts = append(opts, bkllb.AddSecretWithDest(s.ID, &to, sopts...))
	}
	// BuildKit points SSH_AUTH_SOCK at the first socket, so `ssh: default`
	// works as dapp's forwarded agent did.
	for _, s := range img.SSH {
		sopts := []bkllb.SSHOption{bkllb.SSHID(s.ID)}
		if s.Optional {
			sopts = append(sopts, bkllb.SSHOptional)
		}
		opts = append(opts, bkllb.AddSSHSocket(sopts...))
	}
	return opts
}

// Secrets lists the secrets and ssh ids the build of img asks for: its own
// and those of every image and artifact it builds on or imports from, each
// id once (its first entry), for the outline subrequest and for errors.
func Secrets(cfg *dappfile.Config, img *dappfile.Image) ([]*dappfile.Secret, []*dappfile.SSH) {
	var secrets []*dappfile.Secret
	var ssh []*dappfile.SSH
	seenSecret, seenSSH := map[string]bool{}, map[string]bool{}
	for _, im := range BuildsOn(cfg, img) {
		for _, s := range im.Secrets {
			if !seenSecret[s.ID] {
				seenSecret[s.ID] = true
				secrets = append(secrets, s)
			}
		}
		for _, s := range im.SSH {
			if !seenSSH[s.ID] {
				seenSSH[s.ID] = true
				ssh = append(ssh, s)
			}
		}
	}
	return secrets, ssh
}
