package collect

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits of one shard's archive, unpacked. A shard's result directory
// holds about 5 MiB per hour of run and a few dozen files
// (docs/distributed.md), so these are far above any real one and far
// below what would fill the collector's volume by mistake.
const (
	MaxShardBytes   = 1 << 30 // the files' sizes added up
	MaxShardEntries = 10_000  // files and directories
)

// pack writes dir's files and directories as a gzip-compressed tar
// stream to w, with paths relative to dir. Anything else in dir (a
// symlink, a socket) is an error: a result directory has none.
func pack(w io.Writer, dir string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return fmt.Errorf("%s: not a file or a directory", p)
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname, h.Uid, h.Gid = "", "", 0, 0
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, h.Size)
		return err
	})
	return errors.Join(err, tw.Close(), gz.Close())
}

// unpack reads a gzip-compressed tar stream from r into the existing
// directory dst. Only files and directories whose paths stay inside dst
// are taken, each once, within MaxShardBytes and MaxShardEntries: a path
// with "..", an absolute one, a link or a device is refused, naming the
// entry. dst is opened as an os.Root, so nothing is written outside it
// whatever the entries say.
func unpack(r io.Reader, dst string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip-compressed tar archive: %w", err)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	var entries int
	var left int64 = MaxShardBytes
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if entries++; entries > MaxShardEntries {
			return fmt.Errorf("more than %d entries: not a shard's result directory", MaxShardEntries)
		}
		name, err := entryPath(h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		case tar.TypeReg:
			if h.Size > left {
				return fmt.Errorf("entry %q: the archive holds more than %d MiB: not a shard's result directory", h.Name, MaxShardBytes>>20)
			}
			left -= h.Size
			if err := writeEntry(root, name, tr, h.Size); err != nil {
				return fmt.Errorf("entry %q: %w", h.Name, err)
			}
		default:
			return fmt.Errorf("entry %q: %s refused: only files and directories", h.Name, typeName(h.Typeflag))
		}
	}
}

// typeName names a tar entry type that unpack refuses.
func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "a device"
	case tar.TypeFifo:
		return "a FIFO"
	}
	return fmt.Sprintf("an entry of type %q", t)
}

// entryPath is a tar entry's name as a path inside the target directory,
// or an error for one that would leave it.
func entryPath(name string) (string, error) {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if name == "" || strings.Contains(name, `\`) || !filepath.IsLocal(filepath.FromSlash(clean)) || clean != strings.TrimSuffix(name, "/") {
		return "", fmt.Errorf("entry %q: not a plain path inside the shard's directory", name)
	}
	return filepath.FromSlash(clean), nil
}

// writeEntry creates the file name in root (it must not exist) with the
// next size bytes of r.
func writeEntry(root *os.Root, name string, r io.Reader, size int64) error {
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.CopyN(f, r, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%d of %d bytes: %w", n, size, err)
	}
	return nil
}
