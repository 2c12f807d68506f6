package stellarcore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"runtime/debug"
)

// rulesBuild names the rules this binary checks with: its version-control revision when it was built
// from a clean checkout, else a value of this process's own, so that a check recorded by another
// binary whose rules may differ is never trusted.
var rulesBuild = func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		var revision, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if revision != "" && modified == "false" {
			return revision
		}
	}
	return "process " + rand.Text()
}()

// Fingerprint identifies everything a check of the configuration Preview(base, in) reads: the rules of
// this build, the release line, the base configuration, the render input with its peers, the check's
// options and any further input the caller checks with it (extra). A validator whose fingerprint is
// the one recorded when its configuration was last accepted need not be checked again: the same
// inputs get the same verdict. The seed is no input of a check and never part of it.
func Fingerprint(base string, in RenderInput, opts CheckOptions, extra ...string) string {
	h := sha256.New()
	field(h, rulesBuild, in.Profile.Line, opts.Profile.Line, opts.SelfKey, base, in.NodeName, in.PodIP, in.NetworkID,
		fmt.Sprint(in.QuorumFromPeers))
	field(h, extra...)
	// Every field of every peer, by its JSON encoding: a field added to peers.Peer is covered at once.
	_ = json.NewEncoder(h).Encode(in.Discovered)
	return hex.EncodeToString(h.Sum(nil))
}

// field writes each value with its length first, so that no two lists of values write the same bytes.
func field(h hash.Hash, values ...string) {
	for _, v := range values {
		_, _ = fmt.Fprintf(h, "%d:%s", len(v), v)
	}
}
