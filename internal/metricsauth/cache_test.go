package metricsauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reviewer answers reviews as told and counts them.
type reviewer struct {
	allow           bool
	tokens, access  int
	lastAccessGroup []string
}

func (r *reviewer) tokenReview(_ context.Context, tr *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	r.tokens++
	tr.Status = authenticationv1.TokenReviewStatus{Authenticated: tr.Spec.Token == "good",
		User: authenticationv1.UserInfo{Username: "system:serviceaccount:monitoring:prometheus", Groups: []string{"b", "a"}}}
	return tr, nil
}

func (r *reviewer) accessReview(_ context.Context, sar *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	r.access++
	r.lastAccessGroup = sar.Spec.Groups
	sar.Status.Allowed = r.allow
	return sar, nil
}

type tokenFunc func(context.Context, *authenticationv1.TokenReview, metav1.CreateOptions) (*authenticationv1.TokenReview, error)

func (f tokenFunc) Create(ctx context.Context, tr *authenticationv1.TokenReview, o metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	return f(ctx, tr, o)
}

type accessFunc func(context.Context, *authorizationv1.SubjectAccessReview, metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error)

func (f accessFunc) Create(ctx context.Context, sar *authorizationv1.SubjectAccessReview, o metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	return f(ctx, sar, o)
}

// A refusal is remembered 30 s and an allowance 5 min, so a new binding lets a scraper in within 30 s
// and a revoked one shuts it out within 5 min; a token is reviewed again after a minute.
func TestAnswersAreRememberedForTheirLifetimes(t *testing.T) {
	r := &reviewer{}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	g := &gate{tokens: tokenFunc(r.tokenReview), access: accessFunc(r.accessReview), now: func() time.Time { return now }}
	h, _ := g.wrap(logr.Discard(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	scrape := func() int {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}

	for _, step := range []struct {
		when     string
		after    time.Duration // since the step before
		allow    bool          // what RBAC says from this step on
		want     int
		reviewed int // access reviews sent so far
	}{
		{"before the binding", 0, false, http.StatusForbidden, 1},
		{"bound, within the refusal's 30 s", deniedFor - time.Second, true, http.StatusForbidden, 1},
		{"bound, after the refusal's 30 s", time.Second, true, http.StatusOK, 2},
		{"revoked, within the allowance's 5 min", allowedFor - time.Second, false, http.StatusOK, 2},
		{"revoked, after the allowance's 5 min", time.Second, false, http.StatusForbidden, 3},
	} {
		now, r.allow = now.Add(step.after), step.allow
		if code := scrape(); code != step.want || r.access != step.reviewed {
			t.Fatalf("%s: %d after %d access reviews, want %d after %d", step.when, code, r.access, step.want, step.reviewed)
		}
	}
	// The token was reviewed at the start and again on the first scrape more than a minute later.
	if want := 2; r.tokens != want {
		t.Errorf("%d token reviews over %v, want %d", r.tokens, deniedFor+allowedFor, want)
	}
	if len(r.lastAccessGroup) != 2 {
		t.Errorf("the access review was sent groups %v, want the token's two", r.lastAccessGroup)
	}
}
