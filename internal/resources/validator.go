package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/archive"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/readiness"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// Names and paths inside a validator pod.
const (
	ConfigKey = "stellar-core.cfg"
	// SeedSecretKey is the key of the seed in the validator's Secret.
	SeedSecretKey  = renderconfig.SeedEnv
	baseConfigDir  = "/etc/stellar/base"
	peersDir       = "/etc/stellar/peers"
	votesDir       = "/etc/stellar/votes"
	renderedDir    = "/etc/stellar/rendered"
	renderedConfig = renderedDir + "/" + ConfigKey
	toolsDir       = "/opt/stellar-operator"
	// scratchDir is the stellar-core container's writable /tmp and HOME on a read-only root.
	scratchDir = "/tmp"
	// AgentContainer is the validator's agent sidecar (internal/agent).
	AgentContainer = "agent"
	// AgentPort serves the agent's status document and metrics.
	AgentPort = 11628
	// PortAgent names the agent's port in the pod.
	PortAgent = "agent"
	// ToolsBinary is where the init step puts the operator's binary for the readiness check.
	ToolsBinary     = toolsDir + "/manager"
	dataVolume      = "data"
	defaultDataSize = "20Gi"

	// MinReadySeconds is how long a validator's pod must stay Ready to count as available. Peer
	// discovery restarts the next validator of a network only once the previous one is available,
	// so a readiness probe that passes once and then fails does not let two validators go down.
	MinReadySeconds = 10
)

// ValidatorConfigMap holds the validator's base stellar-core.cfg: no seed, no discovered peers.
func ValidatorConfigMap(node *stellarv1alpha1.StellarNode, baseConfig string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(node, ConfigMapName(node)),
		Data:       map[string]string{ConfigKey: baseConfig},
	}
}

// ValidatorHeadlessService gives the validator's pod a DNS name that exists before it is ready, and
// a Full validator's archive a port its peers reach even while it catches up.
func ValidatorHeadlessService(node *stellarv1alpha1.StellarNode) *corev1.Service {
	ports := []corev1.ServicePort{servicePort(portPeer, node.PeerPort()), servicePort(portHTTP, node.HTTPPort())}
	if node.PublishesLocally() {
		ports = append(ports, servicePort(portHistory, node.HistoryPort()))
	}
	svc := clusterIPService(node, HeadlessServiceName(node), ports...)
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	svc.Spec.PublishNotReadyAddresses = true
	return svc
}

// ValidatorService exposes the validator's peer port inside the cluster.
func ValidatorService(node *stellarv1alpha1.StellarNode) *corev1.Service {
	return clusterIPService(node, node.Name, servicePort(portPeer, node.PeerPort()))
}

// ExternalPeerServiceName names the Service that exposes a validator's peer port outside the cluster.
func ExternalPeerServiceName(node *stellarv1alpha1.StellarNode) string { return node.Name + "-peer" }

// ValidatorExternalPeerService exposes the validator's peer port, and only it, outside the cluster, or
// is nil when spec.validatorConfig.externalPeer is unset. A LoadBalancer keeps the client's address
// (externalTrafficPolicy Local): stellar-core sees who connects, and the traffic takes no extra hop.
func ValidatorExternalPeerService(node *stellarv1alpha1.StellarNode) *corev1.Service {
	ext := node.Spec.ValidatorConfig.ExternalPeer
	if ext == nil {
		return nil
	}
	svc := clusterIPService(node, ExternalPeerServiceName(node), servicePort(portPeer, node.PeerPort()))
	svc.Spec.Type = ext.ServiceType
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	}
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	if len(ext.Annotations) > 0 {
		svc.Annotations = make(map[string]string, len(ext.Annotations))
		for k, v := range ext.Annotations {
			svc.Annotations[k] = string(v)
		}
	}
	return svc
}

// ExternalAddress is what validators outside the cluster dial: the advertised address, else the
// LoadBalancer's first address with the peer port, else "" (a NodePort needs an advertised address:
// which node address is reachable is the user's to say).
func ExternalAddress(node *stellarv1alpha1.StellarNode, svc *corev1.Service) string {
	ext := node.Spec.ValidatorConfig.ExternalPeer
	switch {
	case ext == nil:
		return ""
	case ext.AdvertisedAddress != "":
		return ext.AdvertisedAddress
	case svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) == 0:
		return ""
	}
	ingress := svc.Status.LoadBalancer.Ingress[0]
	host := ingress.Hostname
	if host == "" {
		host = ingress.IP
	}
	if stellarv1alpha1.ValidHost("load balancer address", host) != nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", host, node.PeerPort())
}

// ValidatorStatefulSet runs stellar-core. Its pod template carries the hash of the base configuration
// (owned by the reconciler); peer discovery owns the restartedAt and membership annotations.
func ValidatorStatefulSet(node *stellarv1alpha1.StellarNode, baseConfig string, opts Options) *appsv1.StatefulSet {
	sts := validatorStatefulSet(node, baseConfig, opts)
	schedule(&sts.Spec.Template, node, validatorSpread(node))
	return sts
}

func validatorStatefulSet(node *stellarv1alpha1.StellarNode, baseConfig string, opts Options) *appsv1.StatefulSet {
	vc := node.Spec.ValidatorConfig
	labels := Labels(node)
	retention := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if node.Spec.Storage.RetentionPolicy == stellarv1alpha1.RetentionDelete {
		retention = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	size := resource.MustParse(defaultDataSize)
	if node.Spec.Storage.Size != nil {
		size = *node.Spec.Storage.Size
	}

	renderArgs := renderconfig.Args{
		Base:               baseConfigDir + "/" + ConfigKey,
		Out:                renderedConfig,
		NodeName:           node.Name,
		NetworkID:          node.NetworkID(),
		StellarCoreVersion: node.Spec.Version,
		PublicKey:          vc.PublicKey,
		QuorumFromPeers:    node.QuorumFromCluster(),
		Install:            ToolsBinary,
		AllowLoopback:      opts.AllowLoopbackPeers,
	}
	if node.PeerDiscoveryEnabled() {
		renderArgs.Peers = peersDir + "/" + peers.KeyPeersJSON
	}

	startScript := ValidatorStartScript(node)

	// stellar-core's admin port listens on 127.0.0.1 only, so readiness is asked from inside the pod, by
	// the operator's own binary that the init step installed: Ready means in consensus.
	ready := append([]string{ToolsBinary}, readiness.Args{Port: int(node.HTTPPort()), MaxLedgerAge: readiness.DefaultMaxLedgerAge}.List()...)

	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: objectMeta(node, node.Name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:        new(node.DesiredReplicas()),
			ServiceName:     HeadlessServiceName(node),
			MinReadySeconds: MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: SelectorLabels(node)},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: retention,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{AnnotationConfigHash: hash(baseConfig)},
				},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: new(false),
					SecurityContext:              podSecurityContext(),
					InitContainers: []corev1.Container{{
						Name:    renderconfig.Command,
						Image:   opts.OperatorImage,
						Command: []string{"/manager"},
						Args:    renderArgs.List(),
						Env: []corev1.EnvVar{
							{Name: renderconfig.SeedEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: vc.SeedSecretRef},
								Key:                  SeedSecretKey,
							}}},
							{Name: renderconfig.PodIPEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
						},
						SecurityContext: containerSecurityContext(true),
						// A refusal is the last line of its output: the kubelet keeps it, the reconciler reports it.
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						VolumeMounts: []corev1.VolumeMount{
							{Name: "base-config", MountPath: baseConfigDir, ReadOnly: true},
							{Name: volumePeers, MountPath: peersDir, ReadOnly: true},
							{Name: volumeRendered, MountPath: renderedDir},
							{Name: volumeTools, MountPath: toolsDir},
						},
					}},
					Containers: []corev1.Container{{
						Name:    "stellar-core",
						Image:   validatorImage(node),
						Command: shell(startScript),
						Ports: []corev1.ContainerPort{
							{Name: portPeer, ContainerPort: node.PeerPort(), Protocol: corev1.ProtocolTCP},
							{Name: portHTTP, ContainerPort: node.HTTPPort(), Protocol: corev1.ProtocolTCP},
						},
						Resources: node.Spec.Resources,
						// Object storage credentials go from the user's Secret to stellar-core's put
						// commands; the operator never reads them.
						// The root filesystem is read-only: what stellar-core, curl or a storage CLI writes
						// outside the data volume goes to a scratch /tmp, which is also HOME.
						Env: append([]corev1.EnvVar{{Name: "HOME", Value: scratchDir}}, archiveCredentials(node)...),
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: ready}},
							PeriodSeconds:    10,
							TimeoutSeconds:   5,
							FailureThreshold: 3, SuccessThreshold: 1,
						},
						SecurityContext: containerSecurityContext(true),
						// A release line mismatch is the last line of the start script's output.
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						VolumeMounts: []corev1.VolumeMount{
							{Name: dataVolume, MountPath: stellarcore.DataDir},
							{Name: volumeRendered, MountPath: renderedDir, ReadOnly: true},
							{Name: volumeTools, MountPath: toolsDir, ReadOnly: true},
							{Name: volumeScratch, MountPath: scratchDir},
						},
					}, agentSidecar(node, opts)},
					Volumes: []corev1.Volume{
						{Name: "base-config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(node)},
						}}},
						{Name: volumePeers, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: peers.ConfigMapName},
							Optional:             new(true),
						}}},
						// The namespace's votes, for the agent; absent until a vote is declared there.
						{Name: volumeVotes, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: votes.ConfigMapName},
							Optional:             new(true),
						}}},
						{Name: volumeTools, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							SizeLimit: new(resource.MustParse("200Mi")),
						}}},
						{Name: volumeScratch, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							SizeLimit: new(resource.MustParse("1Gi")),
						}}},
						// The rendered file holds the seed: memory only, never on a disk.
						{Name: volumeRendered, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							Medium: corev1.StorageMediumMemory, SizeLimit: new(resource.MustParse("1Mi")),
						}}},
					},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: dataVolume, Labels: SelectorLabels(node)},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: node.Spec.Storage.StorageClassName,
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			}},
		},
	}
}

// ValidatorStartScript is the stellar-core container's command. The database is created once, on the
// first start of a fresh volume: new-db wipes everything. A Full validator's archive is initialised
// once too, after new-db: new-hist fails on an archive that exists, and must never touch one that was
// published, so it is skipped when the marker or the archive's state file is there.
//
// First of all, the binary must be of the release line the configuration was written for: the operator's
// own binary reads `stellar-core version` and stops the container with a clear message otherwise (an
// image of another release under spec.image, say).
func ValidatorStartScript(node *stellarv1alpha1.StellarNode) string {
	script := fmt.Sprintf(`set -e
stellar-core version | %[3]s %[4]s
if [ ! -f %[1]s/.db-initialized ]; then
  stellar-core new-db --conf %[2]s
  touch %[1]s/.db-initialized
fi
`, stellarcore.DataDir, renderedConfig, ToolsBinary, strings.Join(renderconfig.ReleaseArgs(node.Spec.Version), " "))
	if node.PublishesHistory() {
		exists := fmt.Sprintf("[ -f %s/%s ]", stellarcore.HistoryDir, archive.StateFile)
		if obj := node.ObjectStorage(); obj != nil {
			exists = fmt.Sprintf("curl -sf %s/%s -o /dev/null", strings.TrimSuffix(obj.URL, "/"), archive.StateFile)
		}
		script += fmt.Sprintf(`if [ ! -f %[1]s/.history-initialized ]; then
  if ! %[3]s; then
    stellar-core new-hist %[4]s --conf %[2]s
  fi
  touch %[1]s/.history-initialized
fi
`, stellarcore.DataDir, renderedConfig, exists, node.Name)
	}
	return script + fmt.Sprintf("exec stellar-core run --conf %s\n", renderedConfig)
}

// agentSidecar is the validator's agent, from the operator's own image: its status document and
// metrics on the agent port, live peering from the mounted stellar-peers, and a Full validator's local
// archive on the history port. It sees the volume read-only and never the rendered configuration.
func agentSidecar(node *stellarv1alpha1.StellarNode, opts Options) corev1.Container {
	args := agent.Args{AdminPort: int(node.HTTPPort()), Port: AgentPort, VotesFile: votesDir + "/" + votes.KeyVotesJSON, Self: node.Name}
	if node.PeerDiscoveryEnabled() {
		args.PeersFile, args.NetworkID = peersDir+"/"+peers.KeyPeersJSON, node.NetworkID()
	}
	ports := []corev1.ContainerPort{{Name: PortAgent, ContainerPort: AgentPort, Protocol: corev1.ProtocolTCP}}
	if node.PublishesLocally() {
		args.ArchiveDir, args.ArchivePort = stellarcore.HistoryDir, int(node.HistoryPort())
		ports = append(ports, corev1.ContainerPort{Name: portHistory, ContainerPort: node.HistoryPort(), Protocol: corev1.ProtocolTCP})
	}
	if node.PublishesHistory() {
		args.PublishQueue = stellarcore.BucketDir + "/publishqueue"
	}
	return corev1.Container{
		Name:    AgentContainer,
		Image:   opts.OperatorImage,
		Command: []string{"/manager"},
		Args:    args.List(),
		Ports:   ports,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		SecurityContext: containerSecurityContext(true),
		VolumeMounts: []corev1.VolumeMount{
			{Name: dataVolume, MountPath: stellarcore.DataDir, ReadOnly: true},
			{Name: volumePeers, MountPath: peersDir, ReadOnly: true},
			{Name: volumeVotes, MountPath: votesDir, ReadOnly: true},
		},
	}
}

// archiveCredentials are the environment variables of an object-storage archive's credentials.
func archiveCredentials(node *stellarv1alpha1.StellarNode) []corev1.EnvVar {
	obj := node.ObjectStorage()
	if obj == nil || obj.CredentialsSecretRef == "" {
		return nil
	}
	env := make([]corev1.EnvVar, 0, len(obj.CredentialKeys))
	for _, key := range obj.CredentialKeys {
		env = append(env, corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: obj.CredentialsSecretRef}, Key: key,
		}}})
	}
	return env
}

// PeerAddress is the address other validators use to reach this one.
func PeerAddress(node *stellarv1alpha1.StellarNode, clusterDomain string) string {
	return PeerDNSName(node, clusterDomain) + ":" + strconv.Itoa(int(node.PeerPort()))
}

func validatorImage(node *stellarv1alpha1.StellarNode) string {
	return imageOr(node, "stellar/stellar-core:")
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
