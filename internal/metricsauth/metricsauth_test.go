package metricsauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/metricsauth"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// Against a real API server (RBAC on, service-account tokens signed): no token and a forged token are
// unauthorised; a service account bound to GET /metrics reads /metrics and nothing else; one without
// the binding is forbidden; and a second scrape within the caches' time sends no review.
func TestOnlyAnAuthorisedServiceAccountReadsMetrics(t *testing.T) {
	env, cfg, c, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	ns, err := testutil.NewNamespace(ctx, c, "metricsauth")
	if err != nil {
		t.Fatal(err)
	}
	scraper, stranger := token(ctx, t, c, ns, "scraper"), token(ctx, t, c, ns, "stranger")
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader-" + ns},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader-" + ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"}}}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	counter := &testutil.RequestCounter{}
	filterCfg := rest.CopyConfig(cfg)
	filterCfg.Wrap(counter.Wrap)
	httpClient, err := rest.HTTPClientFor(filterCfg)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := metricsauth.Filter(filterCfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	handler, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served++
		_, _ = io.WriteString(w, "metrics")
	}))
	if err != nil {
		t.Fatal(err)
	}
	reviews := func() int {
		all := counter.All()
		return all["create tokenreviews"] + all["create subjectaccessreviews"]
	}

	for _, tc := range []struct {
		name, path, authorization string
		want                      int
	}{
		{"no token", "/metrics", "", http.StatusUnauthorized},
		{"another scheme", "/metrics", "Basic " + scraper, http.StatusUnauthorized},
		{"a forged token", "/metrics", "Bearer not-a-token", http.StatusUnauthorized},
		{"the bound service account", "/metrics", "Bearer " + scraper, http.StatusOK},
		{"the bound service account, elsewhere", "/debug/pprof/", "Bearer " + scraper, http.StatusForbidden},
		{"a service account without the binding", "/metrics", "Bearer " + stranger, http.StatusForbidden},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.authorization != "" {
			req.Header.Set("Authorization", tc.authorization)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.want, rec.Body)
		}
	}
	if served != 1 {
		t.Errorf("the metrics handler served %d requests, want 1 (the bound service account's)", served)
	}

	// Scraped again: the token and the access are remembered, no review is sent.
	before := reviews()
	if before == 0 {
		t.Fatal("no review reached the API server")
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+scraper)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || served != 2 {
		t.Fatalf("second scrape: status %d, served %d", rec.Code, served)
	}
	if sent := reviews() - before; sent != 0 {
		t.Errorf("a second scrape sent %d reviews, want 0", sent)
	}
}

// token is a token of a new service account name in ns, as the kubelet would mount it.
func token(ctx context.Context, t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := c.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	req := &authenticationv1.TokenRequest{}
	if err := c.SubResource("token").Create(ctx, sa, req); err != nil {
		t.Fatal(err)
	}
	return req.Status.Token
}
