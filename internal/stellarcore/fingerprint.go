package stellarcore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// rulesBuild names the rules this binary checks with: the hash of the executable itself, so that a
// check recorded by another build, whose rules may differ, is never trusted. Should the executable
// not be readable, each process gets a value of its own.
var rulesBuild = sync.OnceValue(func() string {
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			defer func() { _ = f.Close() }()
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				return hex.EncodeToString(h.Sum(nil))
			}
		}
	}
	return "process " + rand.Text()
})

// Fingerprint identifies everything a check of the configuration Preview(base, in) reads: the rules of
// this build, the release line, the base configuration, the render input with its peers, the check's
// options and any further input the caller checks with it (extra). A validator whose fingerprint is
// the one recorded when its configuration was last accepted need not be checked again: the same
// inputs get the same verdict. The seed is no input of a check and never part of it.
func Fingerprint(base string, in RenderInput, opts CheckOptions, extra ...string) string {
	return FingerprintWith(PeersDigest(in.Discovered), base, in, opts, extra...)
}

// PeersDigest is what a fingerprint holds of the peers: every field of every peer, by its JSON
// encoding, so a field added to peers.Peer is covered at once. A network's members share it.
func PeersDigest(doc peers.Document) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(doc)
	return hex.EncodeToString(h.Sum(nil))
}

// FingerprintWith is Fingerprint with PeersDigest(in.Discovered) given, computed once for a network.
func FingerprintWith(peersDigest, base string, in RenderInput, opts CheckOptions, extra ...string) string {
	h := sha256.New()
	field(h, rulesBuild(), in.Profile.Line, opts.Profile.Line, opts.SelfKey, base, in.NodeName, in.PodIP, in.NetworkID,
		fmt.Sprint(in.QuorumFromPeers), peersDigest)
	field(h, extra...)
	return hex.EncodeToString(h.Sum(nil))
}

// field writes each value with its length first, so that no two lists of values write the same bytes.
func field(h hash.Hash, values ...string) {
	for _, v := range values {
		_, _ = fmt.Fprintf(h, "%d:%s", len(v), v)
	}
}
