package controller_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// validValidator is a minimal valid validator manifest that each case below breaks in one way.
const validValidator = `
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata:
  name: %s
spec:
  nodeType: Validator
  network: Testnet
  version: "27.1.0"
  validatorConfig:
    seedSecretRef: seed
    publicKey: GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y
`

func manifest(text string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	ExpectWithOffset(1, yaml.Unmarshal([]byte(text), &u.Object)).To(Succeed())
	return u
}

func validatorWith(name string, mutate func(spec map[string]any)) *unstructured.Unstructured {
	u := manifest(fmt.Sprintf(validValidator, name))
	spec := u.Object["spec"].(map[string]any)
	mutate(spec)
	return u
}

var _ = Describe("StellarNode validation by the API server", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	type invalidCase struct {
		object *unstructured.Unstructured
		field  string // what the rejection must name
	}
	vc := func(spec map[string]any) map[string]any { return spec["validatorConfig"].(map[string]any) }

	DescribeTable("rejects bad input with a message naming the field",
		func(c invalidCase) {
			c.object.SetNamespace(ns)
			err := k8sClient.Create(ctx, c.object)
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "expected Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(c.field))
		},
		Entry("unknown nodeType", invalidCase{validatorWith("v1", func(s map[string]any) { s["nodeType"] = "Archiver" }), "spec.nodeType"}),
		Entry("unknown network", invalidCase{validatorWith("v2", func(s map[string]any) { s["network"] = "Moonnet" }), "spec.network"}),
		Entry("missing version", invalidCase{validatorWith("v3", func(s map[string]any) { delete(s, "version") }), "spec.version"}),
		Entry("version with spaces", invalidCase{validatorWith("v4", func(s map[string]any) { s["version"] = "22 latest" }), "spec.version"}),
		Entry("Custom network without passphrase", invalidCase{validatorWith("v5", func(s map[string]any) { s["network"] = "Custom" }), "spec.customNetworkPassphrase"}),
		Entry("passphrase on a public network", invalidCase{validatorWith("v6", func(s map[string]any) { s["customNetworkPassphrase"] = "x" }), "spec.customNetworkPassphrase"}),
		Entry("validator without validatorConfig", invalidCase{validatorWith("v7", func(s map[string]any) { delete(s, "validatorConfig") }), "spec.validatorConfig"}),
		Entry("validator with horizonConfig", invalidCase{validatorWith("v8", func(s map[string]any) {
			s["horizonConfig"] = map[string]any{"databaseSecretRef": "db"}
		}), "spec.horizonConfig"}),
		Entry("validator with two replicas", invalidCase{validatorWith("v9", func(s map[string]any) { s["replicas"] = 2 }), "spec.replicas"}),
		Entry("negative replicas", invalidCase{validatorWith("v10", func(s map[string]any) { s["replicas"] = -1 }), "spec.replicas"}),
		Entry("missing seedSecretRef", invalidCase{validatorWith("v11", func(s map[string]any) { delete(vc(s), "seedSecretRef") }), "spec.validatorConfig.seedSecretRef"}),
		Entry("seedSecretRef not a Secret name", invalidCase{validatorWith("v12", func(s map[string]any) { vc(s)["seedSecretRef"] = "My_Seed" }), "spec.validatorConfig.seedSecretRef"}),
		Entry("peerPort out of range", invalidCase{validatorWith("v13", func(s map[string]any) { vc(s)["peerPort"] = 70000 }), "spec.validatorConfig.peerPort"}),
		Entry("httpPort zero", invalidCase{validatorWith("v14", func(s map[string]any) { vc(s)["httpPort"] = 0 }), "spec.validatorConfig.httpPort"}),
		Entry("httpPort equal to peerPort", invalidCase{validatorWith("v15", func(s map[string]any) { vc(s)["httpPort"] = 11625 }), "spec.validatorConfig.httpPort"}),
		Entry("knownPeers entry without port", invalidCase{validatorWith("v16", func(s map[string]any) { vc(s)["knownPeers"] = []any{"core.example.org"} }), "spec.validatorConfig.knownPeers"}),
		Entry("history archive that is not a URL", invalidCase{validatorWith("v17", func(s map[string]any) { vc(s)["historyArchiveUrls"] = []any{"ftp:/archive"} }), "spec.validatorConfig.historyArchiveUrls"}),
		// The input grammar: what reaches a command line or a config is refused at the door.
		Entry("history archive URL hiding arguments behind vertical tabs", invalidCase{validatorWith("g1", func(s map[string]any) {
			vc(s)["historyArchiveUrls"] = []any{"http://127.0.0.1:1/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg\v-H\vx:"}
		}), "spec.validatorConfig.historyArchiveUrls"}),
		Entry("history archive URL with a placeholder", invalidCase{validatorWith("g2", func(s map[string]any) {
			vc(s)["historyArchiveUrls"] = []any{"https://archive.example.org/{2}"}
		}), "spec.validatorConfig.historyArchiveUrls"}),
		Entry("external validator archive URL with a non-breaking space", invalidCase{validatorWith("g3", func(s map[string]any) {
			vc(s)["homeDomain"] = "example.org"
			vc(s)["quorum"] = map[string]any{"validators": []any{map[string]any{"name": "x", "homeDomain": "example.com",
				"publicKey": "GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS", "historyArchiveUrl": "https://a.example.com/x\u00a0-o\u00a0/tmp/y"}}}
		}), "spec.validatorConfig.quorum.validators[0].historyArchiveUrl"}),
		Entry("object-storage URL with shell syntax", invalidCase{validatorWith("g4", func(s map[string]any) {
			vc(s)["history"] = map[string]any{"publish": true, "objectStorage": map[string]any{
				"put": "aws s3 cp {0} s3://b/{1}", "url": "https://b.example.org/x$(id)"}}
		}), "spec.validatorConfig.history.objectStorage.url"}),
		Entry("object-storage put with an option", invalidCase{validatorWith("g5", func(s map[string]any) {
			vc(s)["history"] = map[string]any{"publish": true, "objectStorage": map[string]any{
				"put": "aws s3 cp {0} s3://b/{1} --endpoint-url=http://127.0.0.1:1", "url": "https://b.example.org/x"}}
		}), "spec.validatorConfig.history.objectStorage.put"}),
		Entry("image with a space", invalidCase{validatorWith("g6", func(s map[string]any) { s["image"] = "stellar/stellar-core:27.1.0 --x" }), "spec.image"}),
		Entry("ntpServer that is not a host", invalidCase{validatorWith("g7", func(s map[string]any) { vc(s)["ntpServer"] = "pool.ntp.org;id" }), "spec.validatorConfig.ntpServer"}),
		Entry("history port equal to the agent's", invalidCase{validatorWith("p1", func(s map[string]any) {
			vc(s)["history"] = map[string]any{"publish": true, "port": 11628}
		}), "spec.validatorConfig.history.port"}),
		Entry("history port equal to peerPort", invalidCase{validatorWith("p2", func(s map[string]any) {
			vc(s)["history"] = map[string]any{"publish": true, "port": 11625}
		}), "spec.validatorConfig.history.port"}),
		Entry("peerPort equal to the agent's", invalidCase{validatorWith("p3", func(s map[string]any) { vc(s)["peerPort"] = 11628 }), "spec.validatorConfig.peerPort"}),
		Entry("unknown restartPolicy", invalidCase{validatorWith("v18", func(s map[string]any) {
			vc(s)["peerDiscovery"] = map[string]any{"restartPolicy": "Always"}
		}), "spec.validatorConfig.peerDiscovery.restartPolicy"}),
		Entry("unknown retentionPolicy", invalidCase{validatorWith("v19", func(s map[string]any) {
			s["storage"] = map[string]any{"retentionPolicy": "Archive"}
		}), "spec.storage.retentionPolicy"}),
		Entry("publicKey that is not a G... key", invalidCase{validatorWith("v20", func(s map[string]any) {
			vc(s)["publicKey"] = "GNOTAKEY"
		}), "spec.validatorConfig.publicKey"}),
		Entry("quorum and quorumSet together", invalidCase{validatorWith("v21", func(s map[string]any) {
			vc(s)["homeDomain"] = "example.org"
			vc(s)["quorum"] = map[string]any{}
			vc(s)["quorumSet"] = "[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\n"
		}), "spec.validatorConfig.quorumSet"}),
		Entry("quorum without homeDomain", invalidCase{validatorWith("v22", func(s map[string]any) {
			vc(s)["quorum"] = map[string]any{}
		}), "spec.validatorConfig.homeDomain"}),
		Entry("quorum of unknown quality", invalidCase{validatorWith("v23", func(s map[string]any) {
			vc(s)["homeDomain"] = "example.org"
			vc(s)["quorum"] = map[string]any{"quality": "BEST"}
		}), "spec.validatorConfig.quorum.quality"}),
		Entry("external validator without publicKey", invalidCase{validatorWith("v24", func(s map[string]any) {
			vc(s)["homeDomain"] = "example.org"
			vc(s)["quorum"] = map[string]any{"validators": []any{map[string]any{"name": "x", "homeDomain": "example.com"}}}
		}), "spec.validatorConfig.quorum.validators[0].publicKey"}),
		Entry("Horizon without horizonConfig", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: h1}
spec: {nodeType: Horizon, network: Testnet, version: "2.32.0"}
`), "spec.horizonConfig"}),
		Entry("SorobanRpc with validatorConfig", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: s1}
spec: {nodeType: SorobanRpc, network: Testnet, version: "22.1.0", sorobanConfig: {}, validatorConfig: {seedSecretRef: seed}}
`), "spec.validatorConfig"}),
		Entry("SorobanRpc with an unknown log level", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: s2}
spec: {nodeType: SorobanRpc, network: Testnet, version: "22.1.0", sorobanConfig: {logLevel: loud}}
`), "spec.sorobanConfig.logLevel"}),
		Entry("a pod label of the operator's", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: relabel}
spec: {nodeType: Validator, network: Testnet, version: "27.1.0", scheduling: {podLabels: {app.kubernetes.io/instance: other}},
  validatorConfig: {seedSecretRef: seed, publicKey: GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y}}
`), "podLabels may not use the operator's prefixes"}),
		Entry("a pod annotation that restarts", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: restarter}
spec: {nodeType: Validator, network: Testnet, version: "27.1.0", scheduling: {podAnnotations: {kubectl.kubernetes.io/restartedAt: now}},
  validatorConfig: {seedSecretRef: seed, publicKey: GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y}}
`), "podAnnotations may not use"}),
		Entry("a spread policy that is none of them", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: spready}
spec: {nodeType: Validator, network: Testnet, version: "27.1.0", scheduling: {spread: Sometimes},
  validatorConfig: {seedSecretRef: seed, publicKey: GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y}}
`), "spec.scheduling.spread"}),
		Entry("a validator without its publicKey", invalidCase{manifest(`
apiVersion: stellar.org/v1alpha1
kind: StellarNode
metadata: {name: keyless}
spec: {nodeType: Validator, network: Testnet, version: "27.1.0", validatorConfig: {seedSecretRef: seed}}
`), "validatorConfig.publicKey is required"}),
		Entry("name too long for its Services", invalidCase{manifest(fmt.Sprintf(validValidator,
			"a-validator-name-that-is-far-too-long-to-name-a-headless-service")), "name must be a lowercase DNS label"}),
	)

	It("accepts valid manifests and fills in the defaults", func() {
		u := manifest(fmt.Sprintf(validValidator, "valid"))
		u.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		node := &stellarv1alpha1.StellarNode{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "valid"}, node)).To(Succeed())
		Expect(*node.Spec.Replicas).To(Equal(int32(1)))
		Expect(node.Spec.ValidatorConfig.PeerPort).To(Equal(int32(11625)))
		Expect(node.Spec.ValidatorConfig.HTTPPort).To(Equal(int32(11626)))
		Expect(*node.Spec.ValidatorConfig.PeerDiscovery.Enabled).To(BeTrue())
		Expect(node.Spec.ValidatorConfig.PeerDiscovery.RestartPolicy).To(Equal(stellarv1alpha1.PeerRestartRolling))
		Expect(node.Spec.Storage.RetentionPolicy).To(Equal(stellarv1alpha1.RetentionRetain))
		Expect(node.Spec.Storage.Size.String()).To(Equal("20Gi"))
	})

	It("keeps nodeType, network and storage size immutable", func() {
		u := manifest(fmt.Sprintf(validValidator, "fixed"))
		u.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		// Each update is retried when the reconciler wrote the status in between; what counts is the answer.
		for field, value := range map[string]any{"network": "Mainnet", "nodeType": "Horizon"} {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				node := &unstructured.Unstructured{}
				node.SetGroupVersionKind(stellarv1alpha1.GroupVersion.WithKind("StellarNode"))
				Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fixed"}, node)).To(Succeed())
				Expect(unstructured.SetNestedField(node.Object, value, "spec", field)).To(Succeed())
				return k8sClient.Update(ctx, node)
			})
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "changing %s: %v", field, err)
			Expect(err.Error()).To(ContainSubstring(field + " is immutable"))
		}
		err := testutil.UpdateNode(ctx, k8sClient, ns, "fixed", func(node *stellarv1alpha1.StellarNode) {
			q := node.Spec.Storage.Size.DeepCopy()
			q.Add(q)
			node.Spec.Storage.Size = &q
		})
		Expect(apierrors.IsInvalid(err)).To(BeTrue())
		Expect(err.Error()).To(ContainSubstring("storage.size is immutable"))
	})
})
