package gitllb

import (
	"testing"

	"github.com/flant/dapp-frontend/gitsource"

	"github.com/stretchr/testify/require"
)

// TestApplyFileMapping: a mapping of one file writes it at `to` (renamed
// when to's name differs), owned by owner/group, while the directory it
// lands in keeps the image's owner; a patch rewrites just it.
func TestApplyFileMapping(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.WriteMode("payment_gateway/process.sh", "#!/bin/sh\necho v1\n", 0o755)
	h.Write("payment_gateway/other.sh", "other")
	h.Commit("init")
	h.WriteMode("payment_gateway/process.sh", "#!/bin/sh\necho v2\n", 0o755)
	h.Commit("change")
	m := mapping("/payment_gateway/process.sh", "/home/payment/run.sh")
	m.Owner = "payment"
	p, _ := h.plan(m, gitsource.PlanOpt{})

	ops, names := fileOps(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{}))
	require.Equal(t, "gitArchive /home/payment/run.sh at "+p.Anchor.String()[:12], names[0])
	acts := ops[0].Actions
	require.Len(t, acts, 2)
	require.Equal(t, "/home/payment", acts[0].GetMkdir().Path)
	require.Nil(t, acts[0].GetMkdir().Owner, "the directory belongs to the image")
	mk := acts[1].GetMkfile()
	require.Equal(t, "/home/payment/run.sh", mk.Path)
	require.Equal(t, int32(0o755), mk.Mode)
	require.Equal(t, "#!/bin/sh\necho v1\n", string(mk.Data))
	require.Equal(t, "payment", mk.Owner.User.GetByName().Name)

	step, ok := p.LatestPatchStep()
	require.True(t, ok)
	ops, _ = fileOps(t, mustApply(t, p, step, ApplyOpt{}))
	acts = ops[0].Actions
	require.Len(t, acts, 2)
	require.Equal(t, "/home/payment", acts[0].GetMkdir().Path)
	require.Equal(t, "/home/payment/run.sh", acts[1].GetMkfile().Path)
	require.Equal(t, "#!/bin/sh\necho v2\n", string(acts[1].GetMkfile().Data))
}

// TestApplyFileMappingOverLimit: through the git-export helper the file is
// exported under its repository name and copied to `to`.
func TestApplyFileMappingOverLimit(t *testing.T) {
	t.Parallel()
	h := newTestRepo(t)
	h.Write("conf/nginx.conf", "worker_processes 1;\n")
	h.Write("conf/mime.types", "types {}\n")
	h.Commit("init")
	p, _ := h.plan(mapping("/conf/nginx.conf", "/etc/nginx/main.conf"), gitsource.PlanOpt{})
	d := decode(t, mustApply(t, p, p.ArchiveStep(), ApplyOpt{MaxInlineBytes: 1, Export: testExportEnv}))
	require.Len(t, d.execs, 1)
	require.Contains(t, d.execs[0].Meta.Args, "--file")
	acts := d.files[0].Actions
	require.Equal(t, "/etc/nginx", acts[0].GetMkdir().Path)
	cp := acts[len(acts)-1].GetCopy()
	require.Equal(t, "/nginx.conf", cp.Src)
	require.Equal(t, "/etc/nginx/main.conf", cp.Dest)
}
