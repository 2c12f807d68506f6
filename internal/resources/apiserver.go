package resources

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// APIPort is the HTTP port of Horizon and Soroban RPC.
const APIPort int32 = 8000

const captiveCoreDir = "/data/captive-core"

// HorizonDeployment runs Horizon with its captive core.
func HorizonDeployment(node *stellarv1alpha1.StellarNode) *appsv1.Deployment {
	hc := node.Spec.HorizonConfig
	env := captiveCoreEnv(node, hc.HistoryArchiveURLs)
	env = append(env,
		corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: hc.DatabaseSecretRef}, Key: "DATABASE_URL",
		}}},
		corev1.EnvVar{Name: "PORT", Value: strconv.Itoa(int(APIPort))},
		corev1.EnvVar{Name: "INGEST", Value: strconv.FormatBool(hc.Ingest == nil || *hc.Ingest)},
	)
	if hc.StellarCoreURL != "" {
		env = append(env, corev1.EnvVar{Name: "STELLAR_CORE_URL", Value: hc.StellarCoreURL})
	}
	probe := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString(portHTTP)}},
		PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3, SuccessThreshold: 1,
	}
	return apiDeployment(node, imageOr(node, "stellar/stellar-horizon:"), env, probe)
}

// SorobanDeployment runs Soroban RPC (stellar-rpc) with its captive core.
func SorobanDeployment(node *stellarv1alpha1.StellarNode) *appsv1.Deployment {
	sc := node.Spec.SorobanConfig
	env := captiveCoreEnv(node, sc.HistoryArchiveURLs)
	env = append(env, corev1.EnvVar{Name: "ENDPOINT", Value: "0.0.0.0:" + strconv.Itoa(int(APIPort))})
	if sc.HistoryRetentionWindow != nil {
		env = append(env, corev1.EnvVar{Name: "HISTORY_RETENTION_WINDOW", Value: strconv.Itoa(int(*sc.HistoryRetentionWindow))})
	}
	if sc.LogLevel != "" {
		env = append(env, corev1.EnvVar{Name: "LOG_LEVEL", Value: sc.LogLevel})
	}
	// Health is a JSON-RPC method, not a GET path, so it is asked from inside the pod.
	health := `curl -sf -X POST -H 'Content-Type: application/json' ` +
		`-d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' http://127.0.0.1:` + strconv.Itoa(int(APIPort)) +
		` | grep -q '"status":"healthy"'`
	probe := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: shell(health)}},
		PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3, SuccessThreshold: 1,
	}
	return apiDeployment(node, imageOr(node, "stellar/stellar-rpc:"), env, probe)
}

// APIService exposes Horizon or Soroban RPC on port 8000.
func APIService(node *stellarv1alpha1.StellarNode) *corev1.Service {
	return clusterIPService(node, node.Name, servicePort(portHTTP, APIPort))
}

// networkNames are the names Horizon and stellar-rpc give the public networks in their NETWORK setting,
// which brings each network's passphrase, archives and captive-core quorum with it.
var networkNames = map[stellarv1alpha1.Network]string{
	stellarv1alpha1.NetworkMainnet:   "pubnet",
	stellarv1alpha1.NetworkTestnet:   "testnet",
	stellarv1alpha1.NetworkFuturenet: "futurenet",
}

// captiveCoreEnv points captive core at the node's network: by name for a public network with its own
// archives, otherwise by passphrase and archive URLs.
func captiveCoreEnv(node *stellarv1alpha1.StellarNode, archives []string) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "STELLAR_CORE_BINARY_PATH", Value: "/usr/bin/stellar-core"},
		{Name: "CAPTIVE_CORE_STORAGE_PATH", Value: captiveCoreDir},
	}
	if name, public := networkNames[node.Spec.Network]; public && len(archives) == 0 {
		return append(env, corev1.EnvVar{Name: "NETWORK", Value: name})
	}
	return append(env,
		corev1.EnvVar{Name: "NETWORK_PASSPHRASE", Value: node.NetworkPassphrase()},
		corev1.EnvVar{Name: "HISTORY_ARCHIVE_URLS", Value: strings.Join(node.HistoryArchives(archives), ",")},
	)
}

func apiDeployment(node *stellarv1alpha1.StellarNode, image string, env []corev1.EnvVar, probe *corev1.Probe) *appsv1.Deployment {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(node, node.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: new(node.DesiredReplicas()),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(node)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels(node)},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: new(false),
					SecurityContext:              podSecurityContext(),
					Containers: []corev1.Container{{
						Name:            Component(node.Spec.NodeType),
						Image:           image,
						Env:             env,
						Ports:           []corev1.ContainerPort{{Name: portHTTP, ContainerPort: APIPort, Protocol: corev1.ProtocolTCP}},
						Resources:       node.Spec.Resources,
						ReadinessProbe:  probe,
						SecurityContext: containerSecurityContext(false),
						VolumeMounts:    []corev1.VolumeMount{{Name: dataVolume, MountPath: "/data"}},
					}},
					// Captive core's buckets are rebuilt from the archives on start, so scratch space is enough.
					Volumes: []corev1.Volume{{Name: dataVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
						SizeLimit: node.Spec.Storage.Size,
					}}}},
				},
			},
		},
	}
	schedule(&d.Spec.Template, node, nil)
	return d
}

func imageOr(node *stellarv1alpha1.StellarNode, repo string) string {
	if node.Spec.Image != "" {
		return node.Spec.Image
	}
	return repo + node.Spec.Version
}
