// Command images assembles a container image from files on this machine, without a Docker engine or a
// registry, and writes it as an image archive that `ctr images import` takes. The real-kubelet test bed
// builds the manager image and its stellar-core images with it.
//
//	images -o out.tar -name REF [-entrypoint a,b] [-user 65532:65532] [-env K=V]...
//	       [-file DEST=SRC[:MODE]]... [-dir DEST[:MODE]]... [-link DEST=TARGET]...
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	out := fs.String("o", "", "the image archive to write")
	ref := fs.String("name", "", "the image's name, e.g. localhost/stellar-operator-test/manager:dev")
	entrypoint := fs.String("entrypoint", "", "the entrypoint, comma-separated")
	user := fs.String("user", "", "the user the image runs as, uid:gid")
	var env, files, dirs, links list
	fs.Var(&env, "env", "K=V, repeatable")
	fs.Var(&files, "file", "DEST=SRC[:MODE] (octal, default 0755), repeatable")
	fs.Var(&dirs, "dir", "DEST[:MODE] (octal, default 0755), repeatable")
	fs.Var(&links, "link", "DEST=TARGET, a symbolic link, repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *ref == "" {
		return errors.New("-o and -name are required")
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return err
	}
	layer, err := layerOf(files, dirs, links)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, env...)
	cfg.Config.User = *user
	cfg.Config.WorkingDir = "/"
	if *entrypoint != "" {
		cfg.Config.Entrypoint = strings.Split(*entrypoint, ",")
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	return tarball.WriteToFile(*out, tag, img)
}

// layerOf writes one layer: the directories every path needs, then the files and links, in name order
// so that the same inputs make the same image.
func layerOf(files, dirs, links list) (v1.Layer, error) {
	type entry struct {
		hdr  tar.Header
		data []byte
	}
	entries := map[string]entry{}
	parents := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}}
			}
		}
	}
	for _, d := range dirs {
		dest, mode, err := withMode(d, 0o755)
		if err != nil {
			return nil, err
		}
		parents(dest)
		entries[dest] = entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(dest, "/") + "/", Mode: mode}}
	}
	for _, f := range files {
		dest, src, ok := strings.Cut(f, "=")
		if !ok || !path.IsAbs(dest) {
			return nil, fmt.Errorf("-file %q: DEST=SRC[:MODE] with an absolute DEST", f)
		}
		src, mode, err := withMode(src, 0o755)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		parents(dest)
		entries[dest] = entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(dest, "/"), Mode: mode, Size: int64(len(data))}, data: data}
	}
	for _, l := range links {
		dest, target, ok := strings.Cut(l, "=")
		if !ok || !path.IsAbs(dest) {
			return nil, fmt.Errorf("-link %q: DEST=TARGET with an absolute DEST", l)
		}
		parents(dest)
		entries[dest] = entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: strings.TrimPrefix(dest, "/"), Linkname: target, Mode: 0o777}}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		e.hdr.ModTime = time.Unix(0, 0)
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// withMode splits "X:0644" into X and the octal mode; without a mode, def.
func withMode(s string, def int64) (string, int64, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, def, nil
	}
	mode, err := strconv.ParseInt(s[i+1:], 8, 32)
	if err != nil {
		return "", 0, fmt.Errorf("%q: the mode after ':' is octal", s)
	}
	return s[:i], mode, nil
}
