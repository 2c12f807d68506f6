// Command chart writes dist/chart, the operator's Helm chart, from the kustomize renders of
// config/default and its overlays, so the chart and the kustomize install are one source: each object
// of config/default becomes a template; what an overlay adds (objects, the manager's arguments,
// environment, mounts and volumes) is kept under that overlay's value; what it deletes, under its
// negation. `make chart` runs it; CI fails when the committed chart differs from a new one.
//
//	go run ./hack/chart -renders DIR -out dist/chart -version 0.1.0 -app-version latest
//
// DIR holds default.yaml, cluster-wide.yaml, secure-metrics.yaml, remote-clusters.yaml and
// prometheus.yaml (kustomize build of each).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// namespace is the install namespace of config/default; in the chart, the release's.
const namespace = "stellar-operator-system"

// overlay is one kustomize overlay and the value that turns it on in the chart.
type overlay struct {
	file, cond string
}

// overlays of config/default, in the order their additions appear.
var overlays = []overlay{
	{"cluster-wide.yaml", ".Values.clusterWide"},
	{"secure-metrics.yaml", ".Values.secureMetrics.enabled"},
	{"remote-clusters.yaml", ".Values.remoteClusters.enabled"},
}

// monitoring is config/prometheus: objects of the Prometheus Operator, none in config/default.
var monitoring = overlay{"prometheus.yaml", ".Values.monitoring.enabled"}

type object = map[string]any

func main() {
	renders := flag.String("renders", "", "directory of the kustomize renders")
	out := flag.String("out", "dist/chart", "the chart's directory (replaced)")
	version := flag.String("version", "0.1.0", "the chart's version")
	appVersion := flag.String("app-version", "latest", "the operator's version: the manager image's default tag")
	repository := flag.String("image-repository", "stellar-operator", "the manager image's repository")
	compare := flag.Bool("compare", false, "instead: say whether the two YAML files given hold the same objects, as a kustomize render and a helm template of the chart should")
	flag.Parse()
	if *compare {
		if flag.NArg() != 2 {
			fmt.Fprintln(os.Stderr, "chart -compare KUSTOMIZE.yaml HELM.yaml")
			os.Exit(2)
		}
		if err := same(flag.Arg(0), flag.Arg(1)); err != nil {
			fmt.Fprintln(os.Stderr, "chart:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*renders, *out, *version, *appVersion, *repository); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run(renders, out, version, appVersion, repository string) error {
	files, err := templates(renders, repository)
	if err != nil {
		return err
	}
	files["Chart.yaml"] = fmt.Sprintf(chartYAML, version, appVersion)
	files["templates/_helpers.tpl"] = helpers
	files["templates/NOTES.txt"] = notes
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(generated+files[name]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// templates are the chart's files made from the renders: the CRDs, a template per object, the
// values.
func templates(renders, repository string) (map[string]string, error) {
	base, err := read(filepath.Join(renders, "default.yaml"))
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	deployments, err := overlayObjects(renders, base, files)
	if err != nil {
		return nil, err
	}
	for _, b := range base {
		name := fileName(b)
		if kindOf(b) == "RoleBinding" && strings.HasSuffix(nameOf(b), "-manager-rolebinding") {
			files["templates/watched-namespaces-rolebindings.yaml"] = watchedBindings(b)
		}
		if _, held := files[name]; held {
			continue // an overlay deletes it: kept under that overlay's negation
		}
		switch kindOf(b) {
		case "CustomResourceDefinition":
			data, err := yaml.Marshal(b)
			if err != nil {
				return nil, err
			}
			files["crds/"+nameOf(b)+".yaml"] = string(data)
		case "Namespace":
			files[name] = "{{- if .Values.namespace.create }}\n" + template(b) + "{{- end }}\n"
		case "Deployment":
			text, defaults, err := deployment(b, deployments, repository)
			if err != nil {
				return nil, err
			}
			files[name], files["values.yaml"] = text, defaults
		default:
			files[name] = template(b)
		}
	}
	return files, nil
}

// overlayObjects adds to files what each overlay adds (under its value) and deletes (under its
// negation), and returns each overlay's Deployment by its value.
func overlayObjects(renders string, base []object, files map[string]string) (map[string]object, error) {
	deployments := map[string]object{}
	for _, o := range append(slices.Clone(overlays), monitoring) {
		objs, err := read(filepath.Join(renders, o.file))
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			switch {
			case kindOf(obj) == "Deployment":
				deployments[o.cond] = obj
			case find(base, obj) == nil:
				files[fileName(obj)] = "{{- if " + o.cond + " }}\n" + template(obj) + "{{- end }}\n"
			}
		}
		if o == monitoring {
			continue
		}
		for _, b := range base {
			if find(objs, b) == nil {
				files[fileName(b)] = "{{- if not " + o.cond + " }}\n" + template(b) + "{{- end }}\n"
			}
		}
	}
	return deployments, nil
}

const generated = "# Generated by hack/chart from config/ (make chart): edit config/, not this file.\n"

func read(path string) ([]object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []object
	for {
		var obj object
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
}

func kindOf(o object) string { s, _ := o["kind"].(string); return s }

func nameOf(o object) string {
	m, _ := o["metadata"].(object)
	s, _ := m["name"].(string)
	return s
}

// find is the object of objs with o's kind and name.
func find(objs []object, o object) object {
	for _, x := range objs {
		if kindOf(x) == kindOf(o) && nameOf(x) == nameOf(o) {
			return x
		}
	}
	return nil
}

func fileName(o object) string {
	return "templates/" + strings.ToLower(kindOf(o)) + "-" + strings.TrimPrefix(nameOf(o), "stellar-operator-") + ".yaml"
}

// template is the object's YAML as a template: what Helm would read as an action kept literal (the
// alerts' {{ $labels }}), the namespace the release's, the managed-by label Helm's, and the
// placeholders of deployment turned into their actions.
func template(o object) string {
	o = clone(o)
	if m, ok := o["metadata"].(object); ok {
		if l, ok := m["labels"].(object); ok && l["app.kubernetes.io/managed-by"] != nil {
			l["app.kubernetes.io/managed-by"] = "__RELEASE_SERVICE__"
		}
	}
	data, err := yaml.Marshal(o)
	if err != nil {
		panic(err)
	}
	text := strings.NewReplacer("{{", "{{`{{`}}", "}}", "{{`}}`}}").Replace(string(data))
	text = strings.ReplaceAll(text, namespace, "{{ .Release.Namespace }}")
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		if block, ok := blocks[strings.TrimPrefix(trimmed, "- ")]; ok {
			for _, l := range block(indent) {
				b.WriteString(l + "\n")
			}
			continue
		}
		for token, action := range scalars {
			line = strings.ReplaceAll(line, token, action)
		}
		b.WriteString(line + "\n")
	}
	return "---\n" + b.String()
}

// imageToken stands for the manager's image until template writes its action.
const imageToken = "__IMAGE__"

// scalars are the placeholder values template replaces with an action.
var scalars = map[string]string{
	"__RELEASE_SERVICE__": "{{ .Release.Service }}",
	imageToken:            `{{ include "stellar-operator.image" . }}`,
	"__REPLICAS__":        "{{ .Values.replicas }}",
	"__CLUSTER_NAME__":    "{{ .Values.remoteClusters.clusterName | quote }}",
	"__REGISTRIES__":      `{{ join "," .Values.allowedImageRegistries }}`,
	"__PROGRAMS__":        `{{ join "," .Values.allowedArchivePrograms }}`,
}

// blocks are the placeholder list items (or keys) template replaces with lines at their indentation.
var blocks = map[string]func(indent string) []string{
	"__WATCH_NAMESPACES__": func(in string) []string {
		return []string{
			in + `{{- if and (not .Values.clusterWide) .Values.watchNamespaces }}`,
			in + `- --watch-namespaces={{ join "," (prepend .Values.watchNamespaces .Release.Namespace) }}`,
			in + `{{- end }}`,
			in + `{{- range .Values.extraArgs }}`,
			in + `- {{ . | quote }}`,
			in + `{{- end }}`,
		}
	},
	"resources: __RESOURCES__": func(in string) []string {
		return []string{in + "resources:", in + "  {{- toYaml .Values.resources | nindent " + fmt.Sprint(len(in)+2) + " }}"}
	},
	"__END__": func(in string) []string { return []string{in + "{{- end }}"} },
}

func init() {
	for _, o := range overlays {
		blocks["__IF "+o.cond+"__"] = func(in string) []string { return []string{in + "{{- if " + o.cond + " }}"} }
	}
}

// deployment is the manager's Deployment as a template and the chart's default values: its image,
// replicas, resources and policy arguments from values, and each overlay's additions to its
// arguments, environment, mounts and volumes under that overlay's value.
func deployment(base object, overlays map[string]object, repository string) (string, string, error) {
	d := clone(base)
	spec := d["spec"].(object)
	pod := spec["template"].(object)["spec"].(object)
	containers := pod["containers"].([]any)
	manager := containers[0].(object)
	if manager["name"] != "manager" {
		return "", "", errors.New("the Deployment's first container is not the manager")
	}
	replicas := spec["replicas"]
	spec["replicas"] = "__REPLICAS__"
	manager["image"] = imageToken
	resources := manager["resources"]
	manager["resources"] = "__RESOURCES__"
	var registries, programs []string
	args := manager["args"].([]any)
	for i, a := range args {
		s, _ := a.(string)
		if v, ok := strings.CutPrefix(s, "--allowed-image-registries="); ok {
			registries, args[i] = strings.Split(v, ","), "--allowed-image-registries=__REGISTRIES__"
		}
		if v, ok := strings.CutPrefix(s, "--allowed-archive-programs="); ok {
			programs, args[i] = strings.Split(v, ","), "--allowed-archive-programs=__PROGRAMS__"
		}
	}
	for _, e := range manager["env"].([]any) {
		if env := e.(object); env["name"] == "OPERATOR_IMAGE" {
			env["value"] = imageToken
		}
	}
	manager["args"] = append(args, "__WATCH_NAMESPACES__")
	baseManager := base["spec"].(object)["template"].(object)["spec"].(object)["containers"].([]any)[0].(object)
	basePod := base["spec"].(object)["template"].(object)["spec"].(object)
	for _, o := range overlayDeployments(overlays) {
		od := o.obj
		odPod := od["spec"].(object)["template"].(object)["spec"].(object)
		odManager := odPod["containers"].([]any)[0].(object)
		for _, field := range []string{"args", "env", "volumeMounts"} {
			added := addedItems(baseManager[field], odManager[field])
			if field == "env" {
				for _, e := range added {
					if env := e.(object); env["name"] == "CLUSTER_NAME" {
						env["value"] = "__CLUSTER_NAME__"
					}
				}
			}
			manager[field] = wrap(manager[field], added, o.cond)
		}
		pod["volumes"] = wrap(pod["volumes"], addedItems(basePod["volumes"], odPod["volumes"]), o.cond)
	}
	defaults, err := valuesYAML(repository, replicas, resources, registries, programs)
	return template(d), defaults, err
}

type condObject struct {
	cond string
	obj  object
}

// overlayDeployments are the overlays' Deployments in the order of overlays.
func overlayDeployments(m map[string]object) []condObject {
	var out []condObject
	for _, o := range overlays {
		if d, ok := m[o.cond]; ok {
			out = append(out, condObject{o.cond, clone(d)})
		}
	}
	return out
}

// addedItems are the items of next not in base.
func addedItems(base, next any) []any {
	b, _ := base.([]any)
	n, _ := next.([]any)
	var out []any
	for _, item := range n {
		if !slices.ContainsFunc(b, func(x any) bool { return reflect.DeepEqual(x, item) }) {
			out = append(out, item)
		}
	}
	return out
}

// wrap appends added to list between the placeholders of cond.
func wrap(list any, added []any, cond string) any {
	l, _ := list.([]any)
	if len(added) == 0 {
		return l
	}
	l = append(l, "__IF "+cond+"__")
	l = append(l, added...)
	return append(l, "__END__")
}

func clone(o object) object {
	data, err := yaml.Marshal(o)
	if err != nil {
		panic(err)
	}
	var out object
	if err := yaml.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

func valuesYAML(repo string, replicas, resources any, registries, programs []string) (string, error) {
	res, err := yaml.Marshal(map[string]any{"resources": resources})
	if err != nil {
		return "", err
	}
	list := func(xs []string) string {
		var b strings.Builder
		for _, x := range xs {
			fmt.Fprintf(&b, "\n- %q", x)
		}
		return b.String()
	}
	return fmt.Sprintf(valuesTemplate, repo, replicas, list(registries), list(programs), res), nil
}

const valuesTemplate = `# The manager's image: repository, and tag (the chart's appVersion when empty) or digest (sha256:...).
image:
  repository: %s
  tag: ""
  digest: ""
# Two managers, one leading: a restart or a drained node does not stop reconciling.
replicas: %v
# Registries spec.image may come from (--allowed-image-registries): prefixes.
allowedImageRegistries:%s
# Programs a history archive's get command may run (--allowed-archive-programs).
allowedArchivePrograms:%s
# Namespaces watched besides the release's (each gets a RoleBinding of the manager's role); see docs/INSTALL.md.
watchNamespaces: []
# Watch and manage every namespace (--watch-namespaces=all, a ClusterRoleBinding): only with a reason.
clusterWide: false
# Serve the metrics with a cert-manager certificate Prometheus verifies (needs cert-manager).
secureMetrics:
  enabled: false
# Read other clusters' validators (docs/TIER1.md): the Secret stellar-operator-remote-clusters holds their
# kubeconfigs; clusterName is this cluster's name among them.
remoteClusters:
  enabled: false
  clusterName: cluster-a
# The PodMonitor, ServiceMonitor and alerts of config/prometheus (needs the Prometheus Operator's CRDs).
monitoring:
  enabled: false
# Create the release namespace with Pod Security "restricted" (or use helm install --create-namespace).
namespace:
  create: false
# More manager arguments (docs/INSTALL.md), e.g. --discovery-scope=a,b.
extraArgs: []
%s`

const chartYAML = `apiVersion: v2
name: stellar-operator
description: Runs Stellar validators, Horizon and Soroban RPC, and keeps a network's validators connected to each other.
type: application
version: %s
appVersion: %q
`

const helpers = `{{- define "stellar-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
`

const notes = `The operator runs in {{ .Release.Namespace }}{{ if .Values.clusterWide }} and manages StellarNodes in every namespace{{ else }} and manages the StellarNodes of {{ .Release.Namespace }}{{ range .Values.watchNamespaces }}, {{ . }}{{ end }}{{ end }}.
Uninstalling the release keeps the CRDs and so every StellarNode and validator (Helm never deletes crds/).
`

// watchedBindings is a RoleBinding of the manager's role in each watched namespace, as the release
// namespace's own (config/samples/watched_namespace_rolebinding.yaml says the same by hand).
func watchedBindings(rb object) string {
	b := clone(rb)
	m := b["metadata"].(object)
	m["namespace"] = "__WATCHED__"
	text := template(b)
	text = strings.ReplaceAll(text, "__WATCHED__", "{{ $ns }}")
	text = strings.ReplaceAll(text, "{{ .Release", "{{ $.Release")
	return "{{- if not .Values.clusterWide }}\n{{- range $ns := .Values.watchNamespaces }}\n" + text + "{{- end }}\n{{- end }}\n"
}

// same reports how the objects of two renders differ: by kind and name, each object whole, but for
// the managed-by label, which names the tool.
func same(a, b string) error {
	as, err := read(a)
	if err != nil {
		return err
	}
	bs, err := read(b)
	if err != nil {
		return err
	}
	var diffs []string
	for _, x := range as {
		y := find(bs, x)
		if y == nil {
			diffs = append(diffs, fmt.Sprintf("%s %s is only in %s", kindOf(x), nameOf(x), a))
			continue
		}
		if !reflect.DeepEqual(normal(x), normal(y)) {
			xd, _ := yaml.Marshal(normal(x))
			yd, _ := yaml.Marshal(normal(y))
			diffs = append(diffs, fmt.Sprintf("%s %s differs:\n%s\n---\n%s", kindOf(x), nameOf(x), xd, yd))
		}
	}
	for _, y := range bs {
		if find(as, y) == nil {
			diffs = append(diffs, fmt.Sprintf("%s %s is only in %s", kindOf(y), nameOf(y), b))
		}
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "\n"))
	}
	fmt.Printf("%s and %s: the same %d objects\n", a, b, len(as))
	return nil
}

func normal(o object) object {
	o = clone(o)
	if m, ok := o["metadata"].(object); ok {
		if l, ok := m["labels"].(object); ok {
			delete(l, "app.kubernetes.io/managed-by")
		}
	}
	return o
}
