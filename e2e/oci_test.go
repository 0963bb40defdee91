//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A small reader for the OCI layout tarballs the "oci" exporter writes
// (oci-layout, index.json, blobs/sha256/…). Everything is held in memory:
// fine for test images.

// OCILayout is an exported OCI layout.
type OCILayout struct {
	Index ocispec.Index
	blobs map[digest.Digest][]byte
}

// OCIImage is one image (one platform) of a layout.
type OCIImage struct {
	Descriptor ocispec.Descriptor // of the manifest
	Manifest   ocispec.Manifest
	Config     ocispec.Image
	Layers     []Layer

	rootfs map[string]*File
}

// Layer is one layer of an image.
type Layer struct {
	Descriptor       ocispec.Descriptor // compressed blob: digest, size, media type
	DiffID           digest.Digest      // digest of the uncompressed tar
	UncompressedSize int64              // bytes of the uncompressed tar
	Entries          []File             // tar entries in order, whiteouts as they are
}

// File is a file of a layer or of the flattened root filesystem.
type File struct {
	Path     string      // absolute, cleaned: "/etc/passwd"
	Mode     fs.FileMode // type bits + permissions + setuid/setgid/sticky
	UID, GID int
	Linkname string // symlink target, or hardlink target (absolute) for hardlinks
	Hardlink bool
	Size     int64
	ModTime  time.Time
	Content  []byte // regular files (and hardlinks, resolved)
}

func (f File) IsDir() bool     { return f.Mode.IsDir() }
func (f File) IsSymlink() bool { return f.Mode&fs.ModeSymlink != 0 }
func (f File) IsRegular() bool { return f.Mode.IsRegular() }

// IsWhiteout reports whether a layer entry is an OCI whiteout (".wh.NAME" or
// the opaque marker ".wh..wh..opq").
func (f File) IsWhiteout() bool { return strings.HasPrefix(path.Base(f.Path), whiteoutPrefix) }

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// readOCITar reads an OCI layout tarball.
func readOCITar(file string) (*OCILayout, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &OCILayout{blobs: map[digest.Digest][]byte{}}
	var index []byte
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean(hdr.Name), "./")
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		switch {
		case name == "index.json":
			index = data
		case strings.HasPrefix(name, "blobs/"):
			parts := strings.Split(name, "/") // blobs/ALG/HEX
			if len(parts) != 3 {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
			if err := d.Validate(); err != nil {
				return nil, fmt.Errorf("blob %s: %w", name, err)
			}
			if d.Algorithm().FromBytes(data) != d {
				return nil, fmt.Errorf("blob %s: content does not match its digest", name)
			}
			l.blobs[d] = data
		}
	}
	if index == nil {
		return nil, fmt.Errorf("%s: no index.json (not an OCI layout)", file)
	}
	if err := json.Unmarshal(index, &l.Index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return l, nil
}

// Blob returns a blob of the layout.
func (l *OCILayout) Blob(d digest.Digest) ([]byte, error) {
	b, ok := l.blobs[d]
	if !ok {
		return nil, fmt.Errorf("blob %s not in layout", d)
	}
	return b, nil
}

// Images returns every image manifest reachable from index.json (through
// nested indexes), skipping attestation manifests.
func (l *OCILayout) Images() ([]*OCIImage, error) {
	var out []*OCIImage
	var walk func(descs []ocispec.Descriptor, depth int) error
	walk = func(descs []ocispec.Descriptor, depth int) error {
		if depth > 4 {
			return errors.New("indexes nested too deep")
		}
		for _, d := range descs {
			switch d.MediaType {
			case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
				b, err := l.Blob(d.Digest)
				if err != nil {
					return err
				}
				var idx ocispec.Index
				if err := json.Unmarshal(b, &idx); err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walk(idx.Manifests, depth+1); err != nil {
					return err
				}
			case ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
				if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
					continue
				}
				img, err := l.image(d)
				if err != nil {
					return err
				}
				out = append(out, img)
			}
		}
		return nil
	}
	if err := walk(l.Index.Manifests, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Image returns the image for platform ("linux/amd64"); with platform "" the
// layout must hold exactly one image. It fails the test otherwise.
func (l *OCILayout) Image(t testing.TB, platform string) *OCIImage {
	t.Helper()
	imgs, err := l.Images()
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	var match []*OCIImage
	var seen []string
	for _, img := range imgs {
		p := img.Config.OS + "/" + img.Config.Architecture
		if img.Config.Variant != "" {
			p += "/" + img.Config.Variant
		}
		seen = append(seen, p)
		if platform == "" || p == platform {
			match = append(match, img)
		}
	}
	if len(match) != 1 {
		t.Fatalf("OCI layout: want one image for platform %q, found %d (images: %v)", platform, len(match), seen)
	}
	return match[0]
}

func (l *OCILayout) image(desc ocispec.Descriptor) (*OCIImage, error) {
	b, err := l.Blob(desc.Digest)
	if err != nil {
		return nil, err
	}
	img := &OCIImage{Descriptor: desc}
	if err := json.Unmarshal(b, &img.Manifest); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	cb, err := l.Blob(img.Manifest.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", desc.Digest, err)
	}
	if err := json.Unmarshal(cb, &img.Config); err != nil {
		return nil, fmt.Errorf("config %s: %w", img.Manifest.Config.Digest, err)
	}
	for _, ld := range img.Manifest.Layers {
		lb, err := l.Blob(ld.Digest)
		if err != nil {
			return nil, err
		}
		layer, err := readLayer(ld, lb)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", ld.Digest, err)
		}
		img.Layers = append(img.Layers, layer)
	}
	if n, m := len(img.Config.RootFS.DiffIDs), len(img.Layers); n != m {
		return nil, fmt.Errorf("config lists %d diff ids for %d layers", n, m)
	}
	for i, d := range img.Config.RootFS.DiffIDs {
		if img.Layers[i].DiffID != d {
			return nil, fmt.Errorf("layer %d: diff id %s, config says %s", i, img.Layers[i].DiffID, d)
		}
	}
	return img, nil
}

func decompress(mediaType string, blob []byte) (io.Reader, func(), error) {
	switch {
	case strings.HasSuffix(mediaType, "gzip"):
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case strings.HasSuffix(mediaType, "zstd"):
		zr, err := zstd.NewReader(bytes.NewReader(blob))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case strings.HasSuffix(mediaType, ".tar"), strings.HasSuffix(mediaType, "tar"):
		return bytes.NewReader(blob), func() {}, nil
	}
	return nil, nil, fmt.Errorf("unsupported layer media type %q", mediaType)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func readLayer(desc ocispec.Descriptor, blob []byte) (Layer, error) {
	r, closeFn, err := decompress(desc.MediaType, blob)
	if err != nil {
		return Layer{}, err
	}
	defer closeFn()
	dg := digest.SHA256.Digester()
	cr := &countingReader{r: io.TeeReader(r, dg.Hash())}
	layer := Layer{Descriptor: desc}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Layer{}, err
		}
		f := File{
			Path:    cleanPath(hdr.Name),
			Mode:    hdr.FileInfo().Mode(),
			UID:     hdr.Uid,
			GID:     hdr.Gid,
			Size:    hdr.Size,
			ModTime: hdr.ModTime,
		}
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			f.Linkname = hdr.Linkname
		case tar.TypeLink:
			f.Hardlink = true
			f.Linkname = cleanPath(hdr.Linkname)
		case tar.TypeReg:
			if f.Content, err = io.ReadAll(tr); err != nil {
				return Layer{}, err
			}
		}
		layer.Entries = append(layer.Entries, f)
	}
	// the tar end-of-archive padding counts towards the diff id
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return Layer{}, err
	}
	layer.DiffID = dg.Digest()
	layer.UncompressedSize = cr.n
	return layer, nil
}

func cleanPath(p string) string { return path.Clean("/" + strings.TrimPrefix(p, "./")) }

// Paths lists the layer's entry paths in tar order (whiteouts included).
func (l Layer) Paths() []string {
	out := make([]string, 0, len(l.Entries))
	for _, e := range l.Entries {
		out = append(out, e.Path)
	}
	return out
}

// RootFS flattens the layers: later layers override earlier ones, ".wh.NAME"
// deletes NAME (and what is under it), ".wh..wh..opq" hides what lower layers
// had in that directory, hardlinks get their target's content.
func (img *OCIImage) RootFS() (map[string]*File, error) {
	if img.rootfs != nil {
		return img.rootfs, nil
	}
	fsys := map[string]*File{"/": {Path: "/", Mode: fs.ModeDir | 0o755}}
	removeTree := func(p string) {
		delete(fsys, p)
		prefix := strings.TrimSuffix(p, "/") + "/"
		for k := range fsys {
			if strings.HasPrefix(k, prefix) {
				delete(fsys, k)
			}
		}
	}
	for li, layer := range img.Layers {
		// deletions first: they apply to the lower layers only
		for _, e := range layer.Entries {
			base, dir := path.Base(e.Path), path.Dir(e.Path)
			switch {
			case base == whiteoutOpaque:
				prefix := strings.TrimSuffix(dir, "/") + "/"
				for k := range fsys {
					if strings.HasPrefix(k, prefix) {
						delete(fsys, k)
					}
				}
			case strings.HasPrefix(base, whiteoutPrefix):
				removeTree(path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
			}
		}
		for _, e := range layer.Entries {
			if e.IsWhiteout() {
				continue
			}
			e := e
			if old, ok := fsys[e.Path]; ok && old.IsDir() && !e.IsDir() {
				removeTree(e.Path)
			}
			if e.Hardlink {
				target, ok := fsys[e.Linkname]
				if !ok {
					return nil, fmt.Errorf("layer %d: hardlink %s to missing %s", li, e.Path, e.Linkname)
				}
				e.Mode, e.Content, e.Size = target.Mode, target.Content, target.Size
			}
			fsys[e.Path] = &e
		}
	}
	img.rootfs = fsys
	return fsys, nil
}

// Files returns the flattened root filesystem sorted by path.
func (img *OCIImage) Files(t testing.TB) []File {
	t.Helper()
	fsys, err := img.RootFS()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]File, 0, len(fsys))
	for _, f := range fsys {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Lookup returns the file at p in the flattened root filesystem.
func (img *OCIImage) Lookup(p string) (File, bool, error) {
	fsys, err := img.RootFS()
	if err != nil {
		return File{}, false, err
	}
	f, ok := fsys[cleanPath(p)]
	if !ok {
		return File{}, false, nil
	}
	return *f, true, nil
}

// File returns the file at p, failing the test when it is missing.
func (img *OCIImage) File(t testing.TB, p string) File {
	t.Helper()
	f, ok, err := img.Lookup(p)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("image has no %s", p)
	}
	return f
}

// Exists reports whether p exists in the flattened root filesystem.
func (img *OCIImage) Exists(t testing.TB, p string) bool {
	t.Helper()
	_, ok, err := img.Lookup(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// LayerSizes lists the uncompressed size of each layer, bottom first.
func (img *OCIImage) LayerSizes() []int64 {
	out := make([]int64, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.UncompressedSize
	}
	return out
}

// LayerDigests lists each layer's compressed blob digest, bottom first.
func (img *OCIImage) LayerDigests() []digest.Digest {
	out := make([]digest.Digest, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.Descriptor.Digest
	}
	return out
}

// DiffIDs lists each layer's uncompressed digest, bottom first.
func (img *OCIImage) DiffIDs() []digest.Digest {
	out := make([]digest.Digest, len(img.Layers))
	for i, l := range img.Layers {
		out[i] = l.DiffID
	}
	return out
}
