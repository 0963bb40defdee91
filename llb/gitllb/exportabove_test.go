package gitllb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flant/dapp-frontend/gitsource"
	"github.com/moby/buildkit/solver/pb"
	"github.com/pkg/errors"
	"github.com/stretchr/testify/require"
)

func mkfiles(d decoded) int {
	n := 0
	for _, f := range d.files {
		for _, a := range f.Actions {
			if a.GetMkfile() != nil {
				n++
			}
		}
	}
	return n
}

// TestApplyExportAbove: with a helper, a point above ExportAbove (by size,
// or by file count) is written by git-export and the definition holds
// none of its content; a small one stays inline; without a helper the
// point is inlined as before.
func TestApplyExportAbove(t *testing.T) {
	t.Parallel()
	noHelper := func() (ExportEnv, error) { return ExportEnv{}, errors.New("no helper in-process") }
	tests := []struct {
		name   string
		files  int
		size   int
		export func() (ExportEnv, error)
		execs  int
	}{
		{name: "small point stays inline", files: 3, size: 100, export: testExportEnv, execs: 0},
		{name: "big point is exported", files: 3, size: 40 << 10, export: testExportEnv, execs: 1},
		{name: "many files are exported", files: ExportAboveFiles + 1, size: 10, export: testExportEnv, execs: 1},
		{name: "no helper inlines", files: ExportAboveFiles + 1, size: 10, export: noHelper, execs: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTestRepo(t)
			for i := range tc.files {
				h.Write(fmt.Sprintf("src/f%03d.txt", i), strings.Repeat("x", tc.size))
			}
			h.Commit("files")
			p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
			st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: tc.export, ExportAbove: 64 << 10})
			d := decode(t, st)
			require.Len(t, d.execs, tc.execs)
			if tc.execs > 0 {
				require.Zero(t, mkfiles(d), "no file content inline")
				require.Equal(t, pb.NetMode_NONE, d.execs[0].Network)
			} else {
				require.Equal(t, tc.files, mkfiles(d))
			}
		})
	}
}

// TestApplyExportAboveReadsNoBlob: deciding to export a point with many
// files reads trees only, so the build reads no blob it does not inline:
// the repository's blobs are deleted and the point still converts.
func TestApplyExportAboveReadsNoBlob(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	var blobs []string
	for i := range ExportAboveFiles + 1 {
		name := fmt.Sprintf("src/f%03d.txt", i)
		h.Write(name, fmt.Sprintf("content %d\n", i))
	}
	h.Commit("files")
	for _, l := range strings.Fields(h.Git("ls-tree", "-r", "--object-only", "HEAD")) {
		blobs = append(blobs, filepath.Join(h.Dir, ".git", "objects", l[:2], l[2:]))
	}
	p, _ := h.plan(mapping("/", "/app"), gitsource.PlanOpt{})
	for _, b := range blobs {
		require.NoError(t, os.Remove(b))
	}
	st := mustApply(t, p, p.ArchiveStep(), ApplyOpt{Export: testExportEnv, ExportAbove: 64 << 10})
	require.Len(t, decode(t, st).execs, 1)
	_, err := Apply(st, p, p.ArchiveStep(), ApplyOpt{})
	require.Error(t, err, "inlining needs the blobs: the test removed them")
}
