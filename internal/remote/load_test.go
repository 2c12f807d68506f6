package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

const kubeconfigWith = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users: [{name: u, user: %s}]
`

func writeKubeconfig(t *testing.T, dir, name, user string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Replace(kubeconfigWith, "%s", user, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRefusesProgramsAndBadNames(t *testing.T) {
	for _, tc := range []struct{ name, file, user, want string }{
		{"exec", "cluster-b", `{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}`, "program"},
		{"auth-provider", "cluster-b", `{auth-provider: {name: gcp}}`, "program"},
		{"a name that is no DNS label", "Cluster_B", `{token: t}`, "DNS label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeKubeconfig(t, dir, tc.file, tc.user)
			_, err := Load(Config{Dir: dir}, runtime.NewScheme(), logr.Discard())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want an error about %q", err, tc.want)
			}
		})
	}
	dir := t.TempDir()
	writeKubeconfig(t, dir, "cluster-b", `{token: t}`)
	// What a mounted Secret adds beside its files.
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Config{Dir: dir}, runtime.NewScheme(), logr.Discard())
	if err != nil || len(c.Names()) != 1 || c.Names()[0] != "cluster-b" {
		t.Fatalf("Load: %v, %v", c, err)
	}
	if st := c.Snapshot(); len(st) != 1 || !st[0].Stale {
		t.Errorf("before its first read a cluster is stale: %+v", st)
	}
}

func TestBoundedBody(t *testing.T) {
	b := &boundedBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", 100))), left: 10}
	data, err := io.ReadAll(b)
	if len(data) != 10 || !errors.Is(err, errTooLarge) {
		t.Errorf("read %d bytes, %v; want 10 and errTooLarge", len(data), err)
	}
}

func TestAnOutageKeepsItsFirstError(t *testing.T) {
	dir := t.TempDir()
	writeKubeconfig(t, dir, "cluster-b", `{token: t}`)
	c, err := Load(Config{Dir: dir, Timeout: time.Second}, runtime.NewScheme(), logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on 127.0.0.1:6443 here: every read fails.
	members, _ := membersOf("cluster-b", []stellarv1alpha1.StellarNode{remoteValidator("b1")}, false)
	c.state["cluster-b"] = Cluster{Name: "cluster-b", Members: members, LastRead: time.Now()}
	if !c.read(context.Background(), "cluster-b") {
		t.Fatal("a first failed read is a change: the cluster turns stale")
	}
	first := c.Snapshot()[0]
	if !first.Stale || first.Error == "" || len(first.Members) != 1 {
		t.Fatalf("after a failed read: %+v, want stale with its member kept", first)
	}
	if c.read(context.Background(), "cluster-b") {
		t.Error("a second failed read changed what is known")
	}
	if got := c.Snapshot()[0].Error; got != first.Error {
		t.Errorf("error %q, want the outage's first %q", got, first.Error)
	}
}
