package llb

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/flant/dapp-frontend/dappfile"
	"github.com/moby/buildkit/util/suggest"
	"github.com/pkg/errors"
)

// SelectTarget finds the image or artifact named target. With no target,
// the only image of the file is chosen; several images need a target.
// Errors are about the whole file: LocationErrors without a range, so the
// file's name comes first where errors leave.
func SelectTarget(cfg *dappfile.Config, target string) (*dappfile.Image, error) {
	if err := CheckCacheMountsTarget(cfg, target); err != nil {
		return nil, err
	}
	if target != "" {
		for _, img := range cfg.Images {
			if img.Name == target {
				return img, nil
			}
		}
		err := errors.Errorf("target %q could not be found; available: %s", target, strings.Join(TargetNames(cfg), ", "))
		return nil, &dappfile.LocationError{Err: suggest.WrapError(err, target, TargetNames(cfg), true)}
	}
	var images []*dappfile.Image
	for _, img := range cfg.Images {
		if img.Kind == dappfile.KindImage && !img.Intermediate {
			images = append(images, img)
		}
	}
	switch len(images) {
	case 0:
		return nil, &dappfile.LocationError{Err: errors.New("no final images to build (only artifacts and `final: false` images): pick one with --target")}
	case 1:
		return images[0], nil
	}
	var names []string
	for _, img := range images {
		names = append(names, img.Name)
	}
	return nil, &dappfile.LocationError{Err: errors.Errorf("defines %d images (%s): pick one with --target NAME (buildx/buildctl: --target, --opt target=NAME)", len(images), strings.Join(names, ", "))}
}

// TargetNames lists the names that --target accepts, sorted.
func TargetNames(cfg *dappfile.Config) []string {
	var names []string
	for _, img := range cfg.Images {
		if img.Name != "" {
			names = append(names, img.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Describe is a one-line description of an image for target listings.
func Describe(img *dappfile.Image) string {
	base := img.From
	switch {
	case img.Dockerfile != nil:
		base = "Dockerfile " + path.Join(img.Dockerfile.Context, img.Dockerfile.Dockerfile)
	case img.FromDimg != "":
		base = "dimg " + img.FromDimg
	case img.FromDimgArtifact != "":
		base = "artifact " + img.FromDimgArtifact
	}
	return fmt.Sprintf("%s from %s", img.Kind, base)
}

// CheckCacheMountsTarget refuses an image named like CacheMountsTarget
// when that target is asked for: the build cannot tell which one the user
// means.
func CheckCacheMountsTarget(cfg *dappfile.Config, target string) error {
	if target != CacheMountsTarget {
		return nil
	}
	for _, img := range cfg.Images {
		if img.Name == target {
			return &dappfile.LocationError{Ranges: []dappfile.Range{img.NameLoc}, Err: errors.Errorf(
				"%s %q has the name of the target that saves the build's cache mounts (--target %s): rename it to build it", img.Kind, img.Name, target)}
		}
	}
	return nil
}

// TargetImages lists the documents the conversion of target builds (see
// BuildsOn); none when target selects nothing. Callers use it to start,
// as soon as the Dappfile is read, work the conversion will need.
func TargetImages(cfg *dappfile.Config, target string) []*dappfile.Image {
	img, err := SelectTarget(cfg, target)
	if err != nil {
		return nil
	}
	return BuildsOn(cfg, img)
}

// BuildsOn lists img and every image and artifact it builds on
// (fromDimg, fromDimgArtifact) or imports from, each once, breadth first
// from img.
func BuildsOn(cfg *dappfile.Config, img *dappfile.Image) []*dappfile.Image {
	var out []*dappfile.Image
	visited := map[*dappfile.Image]bool{}
	queue := []*dappfile.Image{img}
	for len(queue) > 0 {
		im := queue[0]
		queue = queue[1:]
		if im == nil || visited[im] {
			continue
		}
		visited[im] = true
		out = append(out, im)
		deps := []string{im.FromDimg, im.FromDimgArtifact}
		for _, imp := range im.Imports {
			deps = append(deps, imp.Artifact)
		}
		for _, name := range deps {
			if name == "" {
				continue
			}
			for _, other := range cfg.Images {
				if other.Name == name {
					queue = append(queue, other)
				}
			}
		}
	}
	return out
}
