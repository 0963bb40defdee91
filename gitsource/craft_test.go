package gitsource

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/stretchr/testify/require"
)

// crafted is a tree entry as a crafted object may hold it: any name, in
// any order, names repeated. A directory has sub, a file or symlink data.
type crafted struct {
	name string
	mode filemode.FileMode
	data string
	sub  []crafted
}

func file(name, data string) crafted { return crafted{name: name, mode: filemode.Regular, data: data} }
func dir(name string, sub ...crafted) crafted {
	return crafted{name: name, mode: filemode.Dir, sub: sub}
}
func link(name, target string) crafted {
	return crafted{name: name, mode: filemode.Symlink, data: target}
}

// writeTree stores the entries as a tree object written byte by byte, as
// git's tree format has it: go-git's encoder would sort them and refuse
// some names, and a crafted object does neither.
func writeTree(t testing.TB, st storer.EncodedObjectStorer, entries []crafted) plumbing.Hash {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range entries {
		var h plumbing.Hash
		if e.mode == filemode.Dir {
			h = writeTree(t, st, e.sub)
		} else {
			h = writeObject(t, st, plumbing.BlobObject, []byte(e.data))
		}
		fmt.Fprintf(&buf, "%o %s\x00", e.mode, e.name)
		buf.Write(h[:])
	}
	return writeObject(t, st, plumbing.TreeObject, buf.Bytes())
}

func writeObject(t testing.TB, st storer.EncodedObjectStorer, typ plumbing.ObjectType, dt []byte) plumbing.Hash {
	t.Helper()
	o := st.NewEncodedObject()
	o.SetType(typ)
	w, err := o.Writer()
	require.NoError(t, err)
	_, err = w.Write(dt)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	h, err := st.SetEncodedObject(o)
	require.NoError(t, err)
	return h
}

// writeCommit stores a commit of tree on top of parents, dated when.
func writeCommit(t testing.TB, st storer.EncodedObjectStorer, tree plumbing.Hash, when time.Time, parents ...plumbing.Hash) plumbing.Hash {
	t.Helper()
	sig := object.Signature{Name: "t", Email: "t@example.com", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: "crafted", TreeHash: tree, ParentHashes: parents}
	o := st.NewEncodedObject()
	require.NoError(t, c.Encode(o))
	h, err := st.SetEncodedObject(o)
	require.NoError(t, err)
	return h
}

// craftedRepo is an empty repository whose objects the test writes.
func craftedRepo(t *testing.T) *Repo {
	t.Helper()
	h := newTestRepo(t)
	return h.open()
}

func (v *view) mustTree(t testing.TB, h plumbing.Hash) node {
	t.Helper()
	n, err := v.treeAt(h)
	require.NoError(t, err)
	return n
}
