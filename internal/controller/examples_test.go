package controller_test

import (
	"encoding/base32"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// manifestsIn reads every object of every YAML file matching pattern.
func manifestsIn(pattern string) map[string][]*unstructured.Unstructured {
	files, err := filepath.Glob(pattern)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	out := map[string][]*unstructured.Unstructured{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		for doc := range strings.SplitSeq(string(data), "\n---") {
			u := &unstructured.Unstructured{}
			ExpectWithOffset(1, yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed(), f)
			if len(u.Object) > 0 {
				out[f] = append(out[f], u)
			}
		}
	}
	return out
}

var _ = Describe("Examples", func() {
	It("are accepted by the API server", func() {
		all := manifestsIn(filepath.Join("..", "..", "examples", "*.yaml"))
		maps.Copy(all, manifestsIn(filepath.Join("..", "..", "config", "samples", "*.yaml")))
		Expect(all).To(HaveKey(HaveSuffix("multi-validator-with-peer-discovery.yaml")))
		Expect(len(all)).To(BeNumerically(">=", 5))
		ns := newNamespace()
		for f, objs := range all {
			for _, u := range objs {
				u.SetNamespace(ns)
				Expect(k8sClient.Create(ctx, u, client.DryRunAll)).To(Succeed(), "%s: %s %s", f, u.GetKind(), u.GetName())
			}
		}
	})

	It("carry valid Stellar seeds", func() {
		seeds := 0
		for f, objs := range manifestsIn(filepath.Join("..", "..", "examples", "*.yaml")) {
			for _, u := range objs {
				if u.GetKind() != "Secret" {
					continue
				}
				seed, found, _ := unstructured.NestedString(u.Object, "stringData", "STELLAR_CORE_SEED")
				if !found {
					continue
				}
				seeds++
				Expect(validSeed(seed)).To(BeTrue(), "%s: %s is not a valid Stellar seed", f, u.GetName())
			}
		}
		Expect(seeds).To(BeNumerically(">=", 6))
	})
})

// validSeed checks a Stellar secret seed: base32, version byte 18<<3, 32 bytes, CRC16-XModem checksum.
func validSeed(s string) bool {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(raw) != 35 || raw[0] != 18<<3 {
		return false
	}
	var crc uint16
	for _, b := range raw[:33] {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return binary.LittleEndian.Uint16(raw[33:]) == crc
}
