package controller_test

import (
	"os"
	"path/filepath"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The operator never reads validator seeds: its generated role grants nothing on Secrets.
func TestRoleGrantsNothingOnSecrets(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("the role has no rules")
	}
	for _, rule := range role.Rules {
		for _, res := range rule.Resources {
			if res == "secrets" || res == "*" {
				t.Errorf("the manager role grants %v on %s", rule.Verbs, res)
			}
		}
	}
}
