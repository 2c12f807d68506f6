package corestatus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// apiHealth asks a Horizon pod's /health or a Soroban RPC pod's getHealth and returns status.health.
// A previous answer's LastSeen is kept when the node does not answer.
func (p *Poller) apiHealth(ctx context.Context, nodeType stellarv1alpha1.NodeType, ip string, port int32,
	prev *stellarv1alpha1.APIHealth, now time.Time) *stellarv1alpha1.APIHealth {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	base := "http://" + net.JoinHostPort(ip, strconv.Itoa(int(port)))
	var (
		healthy bool
		detail  string
		err     error
	)
	if nodeType == stellarv1alpha1.NodeTypeHorizon {
		healthy, detail, err = p.horizonHealth(ctx, base)
	} else {
		healthy, detail, err = p.rpcHealth(ctx, base)
	}
	if err != nil {
		next := &stellarv1alpha1.APIHealth{}
		if prev != nil {
			next = prev.DeepCopy()
		}
		next.Healthy, next.Error = false, err.Error()
		return next
	}
	return &stellarv1alpha1.APIHealth{Healthy: healthy, Detail: detail, LastSeen: &metav1.Time{Time: now.Truncate(time.Second)}}
}

// horizonHealth reads Horizon's /health: 200 when healthy, 503 with the same document when not.
func (p *Poller) horizonHealth(ctx context.Context, base string) (bool, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return false, "", err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return false, "", fmt.Errorf("horizon did not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc struct {
		DatabaseConnected bool `json:"database_connected"`
		CoreUp            bool `json:"core_up"`
		CoreSynced        bool `json:"core_synced"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&doc); err != nil {
		return false, "", fmt.Errorf("horizon's /health (HTTP %d) is not JSON: %w", resp.StatusCode, err)
	}
	detail := fmt.Sprintf("database_connected=%t core_up=%t core_synced=%t", doc.DatabaseConnected, doc.CoreUp, doc.CoreSynced)
	return resp.StatusCode == http.StatusOK, detail, nil
}

// rpcHealth calls Soroban RPC's getHealth JSON-RPC method.
func (p *Poller) rpcHealth(ctx context.Context, base string) (bool, string, error) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"getHealth"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return false, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return false, "", fmt.Errorf("soroban rpc did not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc struct {
		Result *struct {
			Status       string `json:"status"`
			LatestLedger int64  `json:"latestLedger"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&doc); err != nil {
		return false, "", fmt.Errorf("getHealth (HTTP %d) is not JSON: %w", resp.StatusCode, err)
	}
	switch {
	case doc.Error != nil:
		return false, "getHealth: " + doc.Error.Message, nil
	case doc.Result == nil:
		return false, "", fmt.Errorf("getHealth answered neither a result nor an error")
	}
	return doc.Result.Status == "healthy", fmt.Sprintf("status=%s latestLedger=%d", doc.Result.Status, doc.Result.LatestLedger), nil
}
