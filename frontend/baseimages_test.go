package frontend

import (
	"context"
	"testing"

	"github.com/moby/buildkit/frontend/dockerui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// The registry images the options give as named contexts resolve from
// the start of the build, once, and the conversion's `from:` finds them
// resolved whether it writes the name with ":latest" or without; other
// kinds of context are left until a Dappfile asks for them.
func TestWarmNamedImages(t *testing.T) {
	c := &stubClient{opts: map[string]string{
		"context:busybox":                      "docker-image://registry.test/busybox:latest",
		"context:debian:bookworm::linux/amd64": "docker-image://registry.test/debian:bookworm",
		"context:src":                          "local:src",
		"context:tools":                        "git://example.test/tools.git",
		"platform":                             "linux/amd64",
	}}
	bc, err := dockerui.NewClient(c)
	require.NoError(t, err)
	b := newBaseImages(bc)
	b.warmNamedImages(context.Background())
	b.wait()
	require.ElementsMatch(t, []string{"registry.test/busybox:latest", "registry.test/debian:bookworm"}, c.resolved)

	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	for _, from := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", "debian:bookworm"} {
		st, img, err := b.namedContext(context.Background(), from, amd64)
		require.NoError(t, err, from)
		require.NotNil(t, st, from)
		require.NotNil(t, img, from)
	}
	require.Len(t, c.resolved, 2, "the conversion asked the registry again: %v", c.resolved)
}
