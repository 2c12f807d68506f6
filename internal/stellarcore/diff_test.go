package stellarcore

import (
	"slices"
	"strings"
	"testing"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// What the reconciler says a validator restarts for, from two base configurations it rendered.
func TestChangedKeysNamesTheKeysThatDiffer(t *testing.T) {
	base := func(mutate func(*stellarv1alpha1.StellarNode)) string {
		t.Helper()
		node := testValidator("v", stellarv1alpha1.NetworkTestnet)
		node.Spec.ValidatorConfig.QuorumSet = quorumSet4
		if mutate != nil {
			mutate(node)
		}
		text, err := BaseConfig(node, Newest())
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	before := base(nil)
	if got := ChangedKeys(before, before); got != nil {
		t.Errorf("the same configuration: %q", got)
	}
	for _, c := range []struct {
		name   string
		mutate func(*stellarv1alpha1.StellarNode)
		want   []string
	}{
		{"a quorum set of its own", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.QuorumSet = strings.Replace(quorumSet4, "67", "75", 1)
		}, []string{"QUORUM_SET"}},
		{"another network", func(n *stellarv1alpha1.StellarNode) { n.Spec.Network = stellarv1alpha1.NetworkMainnet },
			[]string{"HISTORY.archive0", "HISTORY.archive1", "HISTORY.archive2", "NETWORK_PASSPHRASE"}},
	} {
		got := ChangedKeys(before, base(c.mutate))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := ChangedKeys("not = [toml", before); got != nil {
		t.Errorf("an unreadable configuration: %q, want nil (the change is said without its keys)", got)
	}
}
