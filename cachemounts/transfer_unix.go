//go:build unix

package cachemounts

import (
	"io/fs"
	"os"
	"syscall"
)

// lchown gives p (never followed when a link) the owner of fi.
func lchown(dst *os.Root, p string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return dst.Lchown(p, int(st.Uid), int(st.Gid))
}
