package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// reconcileValidator applies a validator's base configuration, Services, its network's
// PodDisruptionBudget and its StatefulSet. A configuration the user must fix touches nothing: the
// running validator keeps its last good state. A change that would replace the validator's pod (its
// configuration or its StatefulSet's template) waits for the validator's turn in its network's rollout;
// the rest is applied at once.
func (r *StellarNodeReconciler) reconcileValidator(ctx context.Context, node *stellarv1alpha1.StellarNode) (observed, error) {
	release, err := stellarcore.ResolveVersion(node.Spec.Version)
	if err != nil {
		return observed{configError: err, configReason: stellarv1alpha1.ReasonUnsupportedVersion}, nil
	}
	obs, err := r.reconcileRelease(ctx, node, release.Profile)
	obs.releaseLine, obs.releaseLineNote = release.Profile.Line, release.Note
	return obs, err
}

// reconcileRelease is reconcileValidator once the release line is known.
func (r *StellarNodeReconciler) reconcileRelease(ctx context.Context, node *stellarv1alpha1.StellarNode, profile stellarcore.Profile) (observed, error) {
	base, err := stellarcore.BaseConfig(node, profile)
	if err != nil {
		if _, ok := errors.AsType[*stellarcore.QuorumSetError](err); ok {
			return observed{configError: err, configReason: stellarv1alpha1.ReasonInvalidConfig}, nil
		}
		return observed{}, err
	}
	if err := r.Roster.WaitSynced(ctx); err != nil {
		return observed{}, err
	}
	// The other clusters' last known members count in every quorum checked here.
	if err := r.Remote.WaitLoaded(ctx); err != nil {
		return observed{}, err
	}
	if err := r.namesFree(ctx, node); err != nil {
		return observed{}, err
	}
	networks := r.networksOf(node)
	nodes, neighbours, index := networks.nodes, networks.neighbours, networks.index
	if held, ok := r.claimedElsewhere(node, index); ok {
		return r.stopDuplicate(ctx, node, nodes, neighbours, held)
	}
	checked, refused := r.checkConfig(node, profile, base, networks.peersOf(node.NetworkID(), r.Options.ClusterDomain))
	if refused != nil {
		// The advertised address is shown all the same: validators of other clusters find this one by
		// it, and its quorum may be complete only once they have.
		return observed{configError: refused, configReason: refused.Rule(), externalAddress: resources.ExternalAddress(node, nil)}, nil
	}
	// Any change applied now starts the validator with the quorum set the network would have: none
	// while the network's proposed sets can split it, or their intersection is not proven. The map
	// must hold every validator the cache holds: two created a moment apart would each pass a check
	// that missed the other.
	if err := r.rosterHasAll(ctx, node, index); err != nil {
		return observed{}, err
	}
	network := index.Network(node.NetworkID())
	verdict := r.Quorum.Check(node.Namespace, network)
	quorumStatus := r.Quorum.Status(node.Namespace, network, verdict, node)
	if verdict.Holds(node.Spec.ValidatorConfig.AllowUnprovenQuorum) {
		return observed{configReason: verdict.Reason(), configError: fmt.Errorf("%s: nothing that would change a quorum is applied", verdict.Message()),
			externalAddress: resources.ExternalAddress(node, nil), quorum: quorumStatus}, nil
	}
	desired := resources.ValidatorStatefulSet(node, base, r.Options)
	turn, waiting, live, err := r.turnFor(ctx, node, nodes, neighbours, desired, base)
	if err != nil {
		return observed{}, err
	}
	external, err := r.applyAtOnce(ctx, node, nodes, base, waiting == nil)
	if err != nil {
		turn.cancel()
		return observed{}, err
	}

	sts := live
	if waiting == nil {
		sts, err = r.applyValidatorStatefulSet(ctx, node, desired, live, index)
		if err != nil {
			turn.cancel()
			return observed{}, err
		}
		turn.done(sts.Generation)
	}
	status := sts.Status
	obs, err := r.observe(ctx, node, status.ReadyReplicas, status.ObservedGeneration < sts.Generation ||
		status.UpdatedReplicas < node.DesiredReplicas() ||
		(status.UpdateRevision != "" && status.CurrentRevision != status.UpdateRevision))
	if err != nil {
		return observed{}, err
	}
	obs.waiting, obs.configChecked, obs.quorum = waiting, checked, quorumStatus
	obs.endpoint = fmt.Sprintf("%s.%s.svc.%s:%d", node.Name, node.Namespace, r.Options.ClusterDomain, node.PeerPort())
	obs.peerAddress = resources.PeerAddress(node, r.Options.ClusterDomain)
	obs.historyArchive = resources.HistoryArchiveURL(node, r.Options.ClusterDomain)
	obs.externalAddress = resources.ExternalAddress(node, external)
	return obs, nil
}

// neighbours are the validators of the other namespaces of the namespace's scope, from the roster.
func (r *StellarNodeReconciler) neighbours(namespace string) scope.Neighbours {
	var others []scope.Namespace
	for _, o := range r.Scopes.Others(namespace) {
		others = append(others, scope.Namespace{Name: o, Nodes: r.Roster.Validators(o), Lookup: r.Roster.Lookup(o)})
	}
	return scope.Of(others, r.Options.ClusterDomain)
}

// checkConfig runs stellar-core's rules on the configuration the validator's pod would write now, with
// the network's current members (discovered), before anything is applied.
func (r *StellarNodeReconciler) checkConfig(node *stellarv1alpha1.StellarNode, profile stellarcore.Profile, base string,
	discovered peersDoc) (checked string, _ *stellarcore.ConfigError) {
	in := stellarcore.RenderInput{
		Profile: profile, NodeName: node.Name, NetworkID: node.NetworkID(), Discovered: discovered.doc, QuorumFromPeers: node.QuorumFromCluster(),
	}
	opts := stellarcore.CheckOptions{Profile: profile, SelfKey: node.Spec.ValidatorConfig.PublicKey, AllowLoopback: r.Options.AllowLoopbackPeers}
	var protocol string
	vc := node.Spec.ValidatorConfig
	voting := vc.ProtocolVersion != nil && node.Spec.Network == stellarv1alpha1.NetworkCustom
	if voting {
		protocol = fmt.Sprint(*vc.ProtocolVersion)
	}
	// The same inputs as the configuration last accepted get the same verdict: a validator, or an
	// operator restarted over a thousand of them, does not render and check them again.
	fingerprint := stellarcore.FingerprintWith(discovered.digest, base, in, opts, protocol)
	if fingerprint == node.Status.ConfigChecked {
		return fingerprint, nil
	}
	var err error
	if voting {
		// The protocol its agent votes for: one its release line cannot apply is refused here.
		err = stellarcore.CheckProtocol(profile, *vc.ProtocolVersion)
	}
	var preview string
	if err == nil {
		preview, err = stellarcore.Preview(base, in)
	}
	if err == nil {
		err = stellarcore.Check(preview, opts)
	}
	if err == nil {
		return fingerprint, nil
	}
	cerr, ok := errors.AsType[*stellarcore.ConfigError](err)
	if !ok {
		cerr = &stellarcore.ConfigError{Violations: []stellarcore.Violation{{Rule: stellarcore.RuleSyntax, Message: err.Error()}}}
	}
	return "", cerr.WithFields()
}

// errRosterBehind: the roster does not show a validator the cache already holds; the reconcile is
// retried in a moment.
var errRosterBehind = errors.New("the roster does not show every validator of the namespace yet")

// rosterHasAll returns errRosterBehind when the cache holds a validator of node's network that the
// index, built from the roster, does not.
func (r *StellarNodeReconciler) rosterHasAll(ctx context.Context, node *stellarv1alpha1.StellarNode, index peers.Index) error {
	var list stellarv1alpha1.StellarNodeList
	if err := r.List(ctx, &list, client.InNamespace(node.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	known := map[string]bool{}
	if nw := index.Network(node.NetworkID()); nw != nil {
		for _, m := range nw.Nodes {
			known[m.Name] = true
		}
	}
	for i := range list.Items {
		n := &list.Items[i]
		if n.IsValidator() && n.IsPeerDiscoveryMember() && n.NetworkID() == node.NetworkID() && !known[n.Name] {
			return errRosterBehind
		}
	}
	return nil
}

// claimedElsewhere holds a validator whose key or object-storage archive another validator has first:
// one key on two pods is one node twice, two writers of one archive corrupt it.
func (r *StellarNodeReconciler) claimedElsewhere(node *stellarv1alpha1.StellarNode, index peers.Index) (observed, bool) {
	key := node.Spec.ValidatorConfig.PublicKey
	if older := index.DuplicateKeyOf(node); older != "" {
		return observed{configReason: stellarv1alpha1.ReasonDuplicateKey, configError: fmt.Errorf(
			"validator %s of the same network already has publicKey %s...: one key on two pods is one node twice; "+
				"give this validator its own seed and spec.validatorConfig.publicKey", older, key[:5])}, true
	}
	if m := r.Remote.KeyHolderBefore(node, r.ClusterName); m != nil {
		return observed{configReason: stellarv1alpha1.ReasonDuplicateKeyElsewhere, configError: fmt.Errorf(
			"validator %s/%s of cluster %s, created first, already has publicKey %s...: one key on two pods is one node twice; "+
				"this one is held until it has a seed and publicKey of its own", m.Namespace, m.Name(), m.Peer.Cluster, key[:5])}, true
	}
	if older := index.SharedArchiveOf(node); older != "" {
		return observed{configReason: stellarv1alpha1.ReasonSharedArchive, configError: fmt.Errorf(
			"validator %s already publishes to this object-storage archive: two validators writing one archive corrupt it; "+
				"give this validator an archive of its own (spec.validatorConfig.history.objectStorage)", older)}, true
	}
	return observed{}, false
}

// stopDuplicate stops the running pod of a validator held for a key another validator holds (two
// pods signing with one key is the worst a validator can do to its network; this happens when two
// clusters started one seed while they could not see each other). The holder keeps running, so the
// key stays in consensus; the duplicate's StatefulSet is scaled to zero when its network's turn
// comes, so no other validator of the network is down meanwhile. It starts again once its key is its
// own.
func (r *StellarNodeReconciler) stopDuplicate(ctx context.Context, node *stellarv1alpha1.StellarNode, nodes []*stellarv1alpha1.StellarNode,
	neighbours scope.Neighbours, held observed) (observed, error) {
	if held.configReason != stellarv1alpha1.ReasonDuplicateKey && held.configReason != stellarv1alpha1.ReasonDuplicateKeyElsewhere {
		return held, nil // a shared archive: nothing is written to it while held
	}
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: node.Namespace, Name: node.Name}, sts); err != nil {
		return held, client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(sts, node) {
		return held, nil
	}
	held.ready, held.readyKnown = sts.Status.ReadyReplicas, true
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas == 0 {
		return held, nil
	}
	members := neighbours.Members(node.NetworkID(), rollout.Networks(nodes, r.Roster.Lookup(node.Namespace))[node.NetworkID()])
	for i := range members {
		if members[i].Name == node.Name {
			members[i].Accepted = true // its refused spec is what asks for the stop: only the others are waited for
		}
	}
	decision, granted := r.Planner.Request(node.Namespace, node.NetworkID(), members, node.Name)
	if granted == nil {
		held.configError = fmt.Errorf("%w; its running pod is stopped when its network's turn comes: %s", held.configError, decision.Detail)
		return held, nil
	}
	stopped := sts.DeepCopy()
	stopped.Spec.Replicas = new(int32(0))
	if err := r.Patch(ctx, stopped, client.MergeFrom(sts), client.FieldOwner(FieldOwner)); err != nil {
		granted.Cancel()
		return observed{}, err
	}
	granted.Done(stopped.Generation)
	r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, "DuplicateStopped", "Rollout",
		"the validator's pod is stopped: its key runs in another validator (%s)", decision.Detail)
	held.configError = fmt.Errorf("%w; its running pod was stopped", held.configError)
	return held, nil
}

// applyValidatorStatefulSet creates the StatefulSet with the peer membership of the moment, so a new
// validator starts with the current peers and is never restarted for them; afterwards it applies the
// reconciler's fields only over live (nil: none), leaving peer discovery's annotations as they are.
func (r *StellarNodeReconciler) applyValidatorStatefulSet(ctx context.Context, node *stellarv1alpha1.StellarNode,
	desired, live *appsv1.StatefulSet, index peers.Index) (*appsv1.StatefulSet, error) {
	var liveObj client.Object
	if live != nil {
		liveObj = live
	}
	res, err := r.applyOver(ctx, node, desired, liveObj, func(ctx context.Context, obj client.Object) error {
		desired.Spec.Template.Annotations[peers.AnnotationMembership], _ = index.Membership(node)
		return r.Create(ctx, obj, client.FieldOwner(FieldOwner))
	})
	if err != nil {
		return nil, err
	}
	r.recordApplied(node, res, "StatefulSet", desired.Name)
	return desired, nil
}

// observe is what the reconciler saw of a node's workload: its ready pods, whether it is rolling out,
// and why its pods cannot start, if they cannot. The kubelet reports a missing Secret or key on the
// pod, so the operator learns it without ever reading a Secret.
func (r *StellarNodeReconciler) observe(ctx context.Context, node *stellarv1alpha1.StellarNode, ready int32, rolling bool) (observed, error) {
	obs := observed{desired: node.DesiredReplicas(), ready: ready, rolling: rolling}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(node.Namespace), client.MatchingFields{podsOfNode: node.Name}); err != nil {
		return observed{}, err
	}
	for _, pod := range pods.Items {
		for _, cs := range pod.Status.InitContainerStatuses {
			// render-config's refusal: the kubelet keeps the last lines of its output as the message.
			failed := cs.State.Terminated
			if failed == nil && cs.State.Waiting != nil {
				failed = cs.LastTerminationState.Terminated
			}
			if failed != nil && failed.ExitCode != 0 {
				obs.podReason = stellarv1alpha1.ReasonRenderConfigFailed
				obs.podProblem = fmt.Sprintf("pod %s: %s refused to start stellar-core: %s", pod.Name, cs.Name, strings.TrimSpace(failed.Message))
				return obs, nil
			}
		}
		for _, cs := range pod.Status.ContainerStatuses {
			// The start script's check-release refusal: the image is not of the configured release line.
			for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
				if t != nil && strings.Contains(t.Message, renderconfig.ReleaseMismatch) {
					obs.podReason = stellarv1alpha1.ReasonReleaseLineMismatch
					obs.podProblem = fmt.Sprintf("pod %s: %s", pod.Name, lastLine(t.Message))
					return obs, nil
				}
			}
		}
		if reason, problem := podFailure(&pod); reason != "" {
			obs.podReason, obs.podProblem = reason, problem
			return obs, nil
		}
	}
	return obs, nil
}

// podFailure says why a pod does not run, as the kubelet and the scheduler report it, or nothing:
// a reason for the Degraded condition and a sentence naming the pod and container.
func podFailure(pod *corev1.Pod) (reason, problem string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return stellarv1alpha1.ReasonUnschedulable, fmt.Sprintf("pod %s cannot be scheduled: %s", pod.Name, c.Message)
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "CreateContainerConfigError":
			return stellarv1alpha1.ReasonPodCannotStart, fmt.Sprintf("pod %s cannot start container %s: %s", pod.Name, cs.Name, w.Message)
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
			return stellarv1alpha1.ReasonImagePullFailed, fmt.Sprintf("pod %s cannot pull the image %s of container %s (%s): %s",
				pod.Name, cs.Image, cs.Name, w.Reason, w.Message)
		case "CrashLoopBackOff":
			if last := cs.LastTerminationState.Terminated; last != nil && last.Reason == "OOMKilled" {
				return stellarv1alpha1.ReasonOOMKilled, oomKilled(pod.Name, cs.Name)
			}
			return stellarv1alpha1.ReasonCrashLoop, crashLoop(pod.Name, cs)
		}
	}
	for _, cs := range statuses {
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" && cs.RestartCount > 0 && !cs.Ready {
			return stellarv1alpha1.ReasonOOMKilled, oomKilled(pod.Name, cs.Name)
		}
	}
	return "", ""
}

func oomKilled(pod, container string) string {
	return fmt.Sprintf("container %s of pod %s was killed for using more memory than its limit: raise spec.resources.limits.memory", container, pod)
}

func crashLoop(pod string, cs corev1.ContainerStatus) string {
	msg := fmt.Sprintf("container %s of pod %s keeps exiting (%d restarts)", cs.Name, pod, cs.RestartCount)
	if last := cs.LastTerminationState.Terminated; last != nil {
		msg += fmt.Sprintf(": last exit code %d", last.ExitCode)
		if last.Reason != "" {
			msg += " (" + last.Reason + ")"
		}
		if m := strings.TrimSpace(last.Message); m != "" {
			msg += ": " + lastLine(m)
		}
	}
	return msg
}

// lastLine is the last non-empty line of a termination message.
func lastLine(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// applyAtOnce applies the validator's children that change without replacing its pod: Services, the
// network's PodDisruptionBudget, the NetworkPolicy, and, with the template's turn, the base
// configuration the pod reads at start. It returns the external peer Service, nil when there is none.
func (r *StellarNodeReconciler) applyAtOnce(ctx context.Context, node *stellarv1alpha1.StellarNode,
	nodes []*stellarv1alpha1.StellarNode, base string, withConfig bool) (*corev1.Service, error) {
	atOnce := []client.Object{
		resources.ValidatorHeadlessService(node),
		resources.ValidatorService(node),
		resources.NetworkDisruptionBudget(node.Namespace, node.NetworkID(), nodes),
	}
	if r.Options.NetworkPolicies {
		atOnce = append(atOnce, resources.ValidatorNetworkPolicy(node, r.Options))
	}
	external := resources.ValidatorExternalPeerService(node)
	if external != nil {
		atOnce = append(atOnce, external)
	} else if err := r.removeExternalPeerService(ctx, node); err != nil {
		return nil, err
	}
	if withConfig {
		// The pod reads its base configuration at start: it changes with the template, in the same turn.
		atOnce = append([]client.Object{resources.ValidatorConfigMap(node, base)}, atOnce...)
	}
	for _, obj := range atOnce {
		if _, err := r.apply(ctx, node, obj, nil); err != nil {
			return nil, err
		}
	}
	return external, nil
}

// namesFree returns a NameConflictError when the namespace's stellar-peers, or a name the validator
// would write, is an object the operator did not make for it. It is asked before anything waits (the
// quorum gate, a turn, a refused configuration): a validator whose names are taken says NameConflict at
// once, and so is in no quorum, rather than only once its turn would have written them.
func (r *StellarNodeReconciler) namesFree(ctx context.Context, node *stellarv1alpha1.StellarNode) error {
	if cm := r.Roster.PeersConfigMap(node.Namespace); cm != nil && node.PeerDiscoveryEnabled() && !owned.Ours(cm) {
		// The pod would read its peers and quorum from someone else's ConfigMap: nothing is applied.
		return &NameConflictError{Kind: "ConfigMap", Name: cm.Name}
	}
	// The names alone: building the objects themselves (the StatefulSet's pod spec) is the apply's work.
	type child struct {
		obj        client.Object
		kind, name string
	}
	const service = "Service"
	names := []child{
		{&corev1.ConfigMap{}, "ConfigMap", resources.ConfigMapName(node)},
		{&corev1.Service{}, service, resources.HeadlessServiceName(node)},
		{&corev1.Service{}, service, node.Name},
		{&appsv1.StatefulSet{}, "StatefulSet", node.Name},
	}
	if node.Spec.ValidatorConfig.ExternalPeer != nil {
		names = append(names, child{&corev1.Service{}, service, resources.ExternalPeerServiceName(node)})
	}
	for _, n := range names {
		err := r.Get(ctx, client.ObjectKey{Namespace: node.Namespace, Name: n.name}, n.obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if c := metav1.GetControllerOf(n.obj); c == nil || c.UID != node.UID {
			return &NameConflictError{Kind: n.kind, Name: n.name}
		}
	}
	return nil
}

// removeExternalPeerService deletes the validator's external peer Service once externalPeer is unset:
// exposure ends with the spec that asked for it. Only the StellarNode's own Service is deleted.
func (r *StellarNodeReconciler) removeExternalPeerService(ctx context.Context, node *stellarv1alpha1.StellarNode) error {
	svc := &corev1.Service{}
	err := r.Get(ctx, client.ObjectKey{Namespace: node.Namespace, Name: resources.ExternalPeerServiceName(node)}, svc)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if c := metav1.GetControllerOf(svc); c == nil || c.UID != node.UID {
		return nil
	}
	return client.IgnoreNotFound(r.Delete(ctx, svc, client.Preconditions{UID: &svc.UID}))
}
