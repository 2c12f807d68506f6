package remote_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

func TestRemoteClusters(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Remote clusters Suite")
}

// cluster is one simulated cluster: an API server of its own, and the operator run against it.
type cluster struct {
	env    *envtest.Environment
	cfg    *rest.Config
	client client.Client
}

var (
	ctx    context.Context
	cancel context.CancelFunc
	// Two clusters, as a Tier-1 organisation runs them in two places.
	clusterA, clusterB cluster
)

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	DeferCleanup(cancel)
	for _, c := range []*cluster{&clusterA, &clusterB} {
		var err error
		c.env, c.cfg, c.client, err = testutil.StartEnv()
		Expect(err).NotTo(HaveOccurred())
		env := c.env
		DeferCleanup(func() { Expect(env.Stop()).To(Succeed()) })
	}
})

// readerKubeconfig grants the shipped read-only role (config/remote-access) to a user of c and writes
// a kubeconfig for that user, dialling server (c's own API server when empty), into dir/name.
func readerKubeconfig(c cluster, user, dir, name, server string) {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "remote-access", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	role.Name = "remote-reader-" + user
	Expect(c.client.Create(ctx, role)).To(Succeed())
	Expect(c.client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())

	u, err := c.env.AddUser(envtest.User{Name: user}, nil)
	Expect(err).NotTo(HaveOccurred())
	raw, err := u.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kc, err := clientcmd.Load(raw)
	Expect(err).NotTo(HaveOccurred())
	if server != "" {
		for _, cl := range kc.Clusters {
			cl.Server = "https://" + server
		}
	}
	Expect(clientcmd.WriteToFile(*kc, filepath.Join(dir, name))).To(Succeed())
}

// proxy forwards loopback connections to an API server, and can be cut and restored: the remote
// cluster "goes away" for the operator reading it, while its API server keeps running.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startProxy(target string) *proxy {
	p := &proxy{addr: "127.0.0.1:0", target: target, conns: map[net.Conn]bool{}}
	p.up()
	p.addr = p.ln.Addr().String()
	DeferCleanup(p.down)
	return p
}

func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	Expect(err).NotTo(HaveOccurred())
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
}

// down refuses new connections and cuts every open one.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// runOperator runs the operator as it ships against c, managing ns, reading the clusters of dir. The
// caller stops it: one started in a spec runs on into the next.
func runOperator(c cluster, name, ns, dir string) (*operator.Operator, func()) {
	conf := testutil.TestConfig()
	conf.ClusterName = name
	conf.Namespaces = []string{ns}
	conf.OperatorNamespace = ns
	conf.RemoteClustersDir = dir
	conf.RemoteReadInterval = operatorReadInterval
	op, stop, err := testutil.RunOperator(ctx, c.cfg, &testutil.RequestCounter{}, conf, func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	return op, stop
}
