// Command rbaccheck reads a rendered install (dist/install.yaml) and fails when it grants the manager
// anything outside the namespaces it watches: the manager's role must be bound by RoleBindings only,
// and a ClusterRoleBinding may only let the metrics server check its callers.
//
//	go run ./hack/rbaccheck dist/install.yaml
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// reviewOnly are the resources a cluster-wide binding may grant: authenticating and authorising the
// callers of the metrics endpoint.
var reviewOnly = map[string]bool{"tokenreviews": true, "subjectaccessreviews": true}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rbaccheck <rendered install.yaml>")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = check(data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rbaccheck:", err)
		os.Exit(1)
	}
	fmt.Println("rbaccheck: the install grants nothing outside the watched namespaces")
}

func check(data []byte) error {
	roles := map[string]rbacv1.ClusterRole{}
	var bindings []rbacv1.ClusterRoleBinding
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return err
		}
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := yaml.Unmarshal(doc, &r); err != nil {
				return err
			}
			roles[r.Name] = r
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := yaml.Unmarshal(doc, &b); err != nil {
				return err
			}
			bindings = append(bindings, b)
		}
	}
	var problems []error
	for _, b := range bindings {
		role, ok := roles[b.RoleRef.Name]
		if !ok {
			problems = append(problems, fmt.Errorf("ClusterRoleBinding %s binds %s, which the install does not define", b.Name, b.RoleRef.Name))
			continue
		}
		for _, rule := range role.Rules {
			for _, res := range rule.Resources {
				if !reviewOnly[res] {
					problems = append(problems, fmt.Errorf("ClusterRoleBinding %s grants %v on %s in every namespace", b.Name, rule.Verbs, res))
				}
			}
			if len(rule.NonResourceURLs) > 0 {
				problems = append(problems, fmt.Errorf("ClusterRoleBinding %s grants %v", b.Name, rule.NonResourceURLs))
			}
		}
	}
	return errors.Join(problems...)
}
