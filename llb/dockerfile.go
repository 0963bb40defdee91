package llb

import (
	"context"

	"github.com/flant/dapp-frontend/dappfile"
	bkllb "github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/pkg/errors"
)

// DockerfileResult is a werf `dockerfile:` image converted by BuildKit's
// own Dockerfile converter (the frontend runs it: it needs the gateway for
// the Dockerfile, the build context and named contexts).
type DockerfileResult struct {
	State     bkllb.State
	Image     *dockerspec.DockerOCIImage
	BaseImage *dockerspec.DockerOCIImage
}

// buildDockerfile adds a `dockerfile:` image to the graph. Its state joins
// the same definition, so it builds in the same solve as the stapel
// images, in parallel with them, and stapel images can build on it or
// import from it.
func (b *builder) buildDockerfile(ctx context.Context, img *dappfile.Image) (*built, error) {
	if b.opt.ConvertDockerfile == nil {
		return nil, withLocation(b.cfg, errors.New("dockerfile images cannot be built here: no Dockerfile converter"), img.Dockerfile.Loc)
	}
	p := (&stageBuilder{b: b, img: img}).platform()
	res, err := b.opt.ConvertDockerfile(ctx, img, p)
	if err != nil {
		return nil, withLocation(b.cfg, err, img.Dockerfile.Loc)
	}
	image := res.Image
	if img.Docker != nil { // werf's build.imageSpec, merged in by the reader
		image = cloneImage(res.Image)
		if err := applyDocker(image, img.Docker); err != nil {
			return nil, withLocation(b.cfg, err, img.Docker.Loc)
		}
	}
	return &built{state: res.State, values: res.State, image: image, baseImage: res.BaseImage}, nil
}
