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

// The default install grants the manager's rights in its own namespace only: the role that carries them
// is bound by a RoleBinding, and the one ClusterRoleBinding lets the metrics server check its callers
// (token and access reviews), nothing on any namespace's objects. The cluster-wide overlay is the only
// place a ClusterRoleBinding of the manager's role exists.
func TestDefaultInstallIsNamespaced(t *testing.T) {
	dir := filepath.Join("..", "..", "config", "rbac")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clusterRoles := map[string]rbacv1.ClusterRole{}
	var bindings []rbacv1.ClusterRoleBinding
	managerBoundByRoleBinding := false
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		_ = yaml.Unmarshal(data, &meta)
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := yaml.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
			clusterRoles[r.Name] = r
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := yaml.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			bindings = append(bindings, b)
		case "RoleBinding":
			var b rbacv1.RoleBinding
			if err := yaml.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			managerBoundByRoleBinding = managerBoundByRoleBinding || b.RoleRef.Name == "manager-role"
		}
	}
	if !managerBoundByRoleBinding {
		t.Error("the manager role must be bound by a RoleBinding in the operator's namespace")
	}
	for _, b := range bindings {
		role, ok := clusterRoles[b.RoleRef.Name]
		if !ok {
			t.Errorf("ClusterRoleBinding %s binds %s, not a role of config/rbac", b.Name, b.RoleRef.Name)
			continue
		}
		for _, rule := range role.Rules {
			for _, res := range rule.Resources {
				if res != "tokenreviews" && res != "subjectaccessreviews" {
					t.Errorf("ClusterRoleBinding %s grants %v on %s in every namespace", b.Name, rule.Verbs, res)
				}
			}
		}
	}
}
