// Package v1alpha1 holds the StellarNode API of the stellar.org group.
// +kubebuilder:object:generate=true
// +groupName=stellar.org
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the StellarNode API.
	GroupVersion = schema.GroupVersion{Group: "stellar.org", Version: "v1alpha1"}

	// SchemeBuilder registers the API types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the API types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &StellarNode{}, &StellarNodeList{}, &StellarNetworkUpgrade{}, &StellarNetworkUpgradeList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
