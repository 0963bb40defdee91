package dappfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// DirFS is a local directory read the way BuildKit reads a solved build
// context: a symlink resolves as if the directory were the file-system
// root (continuity's RootPath semantics, which securejoin shares), so
// `link -> /etc/passwd` names `<dir>/etc/passwd`, never the host's file.
// The `llb` debug command uses it so it reads exactly what the frontend
// would.
type DirFS string

var _ FS = DirFS("")

// resolve maps a context-relative name to a host path inside the root.
func (d DirFS) resolve(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root, err := filepath.Abs(string(d)) // SecureJoin refuses a root with ".."
	if err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	p, err := securejoin.SecureJoin(root, filepath.FromSlash(name))
	if err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	return p, nil
}

// ReadFile reads a regular file; a directory is an error as in BuildKit.
func (d DirFS) ReadFile(name string) ([]byte, error) {
	fi, err := d.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("not a regular file")}
	}
	p, err := d.resolve("read", name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Stat describes the file name resolves to inside the root.
func (d DirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	// Lstat: SecureJoin resolved every symlink on the way, so one left at
	// the end is dangling inside the root (its target does not exist).
	fi, err := os.Lstat(p)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fi, err
}

// ReadDir lists a directory, entries typed as themselves.
func (d DirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := d.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}
