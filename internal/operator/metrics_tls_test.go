package operator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"
)

// readYAMLDocs reads every document of a YAML file under config/.
func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", path))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func dig(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			list, _ := m.([]any)
			if k >= len(list) {
				return nil
			}
			m = list[k]
		}
	}
	return m
}

// The ServiceMonitor verifies the manager's certificate: it trusts the Secret config/secure-metrics's
// Certificate writes, for the name of the metrics Service as config/default names it, and the manager
// of that overlay serves that Secret.
func TestServiceMonitorVerifiesTheMetricsCertificate(t *testing.T) {
	monitor := readYAMLDocs(t, "prometheus/manager_servicemonitor.yaml")[0]
	tlsConfig := dig(monitor, "spec", "endpoints", 0, "tlsConfig")
	if dig(tlsConfig, "insecureSkipVerify") != nil {
		t.Fatal("the ServiceMonitor skips TLS verification")
	}
	kustomization := readYAMLDocs(t, "default/kustomization.yaml")[0]
	service := readYAMLDocs(t, "default/metrics_service.yaml")[0]
	serverName := dig(kustomization, "namePrefix").(string) + dig(service, "metadata", "name").(string) + "." +
		dig(kustomization, "namespace").(string) + ".svc"
	if got := dig(tlsConfig, "serverName"); got != serverName {
		t.Errorf("serverName %v, the metrics Service is %s", got, serverName)
	}
	var certificate map[string]any
	for _, doc := range readYAMLDocs(t, "secure-metrics/certificate.yaml") {
		if doc["kind"] == "Certificate" {
			certificate = doc
		}
	}
	secret := dig(certificate, "spec", "secretName")
	if dig(tlsConfig, "ca", "secret", "name") != secret || dig(tlsConfig, "ca", "secret", "key") != "ca.crt" {
		t.Errorf("the ServiceMonitor trusts %v, the Certificate writes %v", dig(tlsConfig, "ca"), secret)
	}
	names, _ := dig(certificate, "spec", "dnsNames").([]any)
	if !slices.Contains(names, any(serverName)) {
		t.Errorf("the Certificate names %v, not %s", names, serverName)
	}
	overlay, err := os.ReadFile(filepath.Join("..", "..", "config", "secure-metrics", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--metrics-cert-dir=/etc/stellar-operator/metrics-certs", "mountPath: /etc/stellar-operator/metrics-certs",
		"secretName: " + secret.(string)} {
		if !strings.Contains(string(overlay), want) {
			t.Errorf("config/secure-metrics does not have %q", want)
		}
	}
}

// With --metrics-cert-dir the metrics server serves that certificate: a client trusting it connects,
// one that does not is refused.
func TestMetricsServeTheGivenCertificate(t *testing.T) {
	const serverName = "stellar-operator-controller-manager-metrics-service.stellar-operator-system.svc"
	dir := t.TempDir()
	certPEM := writeSelfSigned(t, dir, serverName)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	opts := metricsOptions(Config{MetricsAddr: addr, SecureMetrics: true, MetricsCertDir: dir})
	if opts.CertDir != dir || opts.CertName != "tls.crt" || opts.KeyName != "tls.key" {
		t.Fatalf("options %+v", opts)
	}
	opts.FilterProvider = nil // authentication needs an API server; TLS is what is tested here
	srv, err := metricsserver.NewServer(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Start(t.Context()) }()

	trusted := x509.NewCertPool()
	trusted.AppendCertsFromPEM(certPEM)
	get := func(roots *x509.CertPool) error {
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}}}
		resp, err := client.Get("https://" + addr + "/metrics")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for err = get(trusted); err != nil && strings.Contains(err.Error(), "connection refused") && time.Now().Before(deadline); err = get(trusted) {
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("a client trusting the certificate: %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := get(x509.NewCertPool()); !errors.As(err, &unknown) {
		t.Errorf("a client trusting nothing: %v", err)
	}
}

// writeSelfSigned writes tls.crt and tls.key for name into dir, as cert-manager's self-signed Issuer
// would, and returns the certificate.
func writeSelfSigned(t *testing.T, dir, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
