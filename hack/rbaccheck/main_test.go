package main

import (
	"strings"
	"testing"
)

const reviews = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: metrics-auth-role}
rules:
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: metrics-auth}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: metrics-auth-role}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: manager-role}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create]
`

func TestCheck(t *testing.T) {
	namespaced := reviews + `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: manager, namespace: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: manager-role}
`
	if err := check([]byte(namespaced)); err != nil {
		t.Errorf("a namespaced install refused: %v", err)
	}
	clusterWide := reviews + `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: manager}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: manager-role}
`
	if err := check([]byte(clusterWide)); err == nil || !strings.Contains(err.Error(), "configmaps in every namespace") {
		t.Errorf("a cluster-wide binding of the manager's role: %v", err)
	}
}
