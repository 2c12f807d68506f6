package controller_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
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

	It("carry valid Stellar seeds, each the seed of its validator's publicKey", func() {
		seeds := 0
		for f, objs := range manifestsIn(filepath.Join("..", "..", "examples", "*.yaml")) {
			keyOf := map[string]string{}
			for _, u := range objs {
				seed, found, _ := unstructured.NestedString(u.Object, "stringData", "STELLAR_CORE_SEED")
				if u.GetKind() != "Secret" || !found {
					continue
				}
				seeds++
				key, err := stellarcore.PublicKeyOfSeed(seed)
				Expect(err).NotTo(HaveOccurred(), "%s: %s is not a valid Stellar seed", f, u.GetName())
				keyOf[u.GetName()] = key
			}
			for _, node := range validatorsIn(objs) {
				if vc := node.Spec.ValidatorConfig; vc.PublicKey != "" {
					Expect(keyOf[vc.SeedSecretRef]).To(Equal(vc.PublicKey), "%s: %s", f, node.Name)
				}
			}
		}
		Expect(seeds).To(BeNumerically(">=", 6))
	})

	It("give validators stellar-core would start", func() {
		checked := 0
		for f, objs := range manifestsIn(filepath.Join("..", "..", "examples", "*.yaml")) {
			nodes := validatorsIn(objs)
			index := peers.NewIndex(nodes, nil)
			for _, node := range nodes {
				// Each example's validators are checked with the rules of the release line they name.
				profile, err := stellarcore.ProfileFor(node.Spec.Version)
				Expect(err).NotTo(HaveOccurred(), "%s: %s", f, node.Name)
				base, err := stellarcore.BaseConfig(node, profile)
				Expect(err).NotTo(HaveOccurred(), "%s: %s", f, node.Name)
				var doc peers.Document
				for _, member := range index.Network(node.NetworkID()).Nodes {
					doc.Peers = append(doc.Peers, resources.PeerOf(member, "cluster.local"))
				}
				preview, err := stellarcore.Preview(base, stellarcore.RenderInput{Profile: profile, NodeName: node.Name, NetworkID: node.NetworkID(),
					Discovered: doc, QuorumFromPeers: node.QuorumFromCluster()})
				Expect(err).NotTo(HaveOccurred())
				Expect(stellarcore.Check(preview, stellarcore.CheckOptions{Profile: profile, SelfKey: node.Spec.ValidatorConfig.PublicKey})).
					To(Succeed(), "%s: %s\n%s", f, node.Name, preview)
				checked++
			}
		}
		Expect(checked).To(BeNumerically(">=", 6))
	})
})

// validatorsIn decodes the validators among manifests (the API types' helpers fill in defaults).
func validatorsIn(objs []*unstructured.Unstructured) []*stellarv1alpha1.StellarNode {
	var out []*stellarv1alpha1.StellarNode
	for _, u := range objs {
		if u.GetKind() != "StellarNode" {
			continue
		}
		node := &stellarv1alpha1.StellarNode{}
		ExpectWithOffset(1, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, node)).To(Succeed())
		if node.Spec.NodeType == stellarv1alpha1.NodeTypeValidator {
			node.Namespace = "examples"
			out = append(out, node)
		}
	}
	return out
}
