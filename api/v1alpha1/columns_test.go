package v1alpha1

import (
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// kubectl get sn says why a node is not Ready without describe: its phase, and the Degraded reason.
func TestGetShowsPhaseAndReason(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "stellar.org_stellarnodes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	columns := map[string]string{}
	for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
		if c.Priority == 0 {
			columns[c.Name] = c.JSONPath
		}
	}
	for name, path := range map[string]string{"Phase": ".status.phase", "Ready": `.status.conditions[?(@.type=="Ready")].status`,
		"Degraded": `.status.conditions[?(@.type=="Degraded")].reason`} {
		if columns[name] != path {
			t.Errorf("column %s is %q, want %q (all: %v)", name, columns[name], path, columns)
		}
	}
}
