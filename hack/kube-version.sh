#!/usr/bin/env bash
# Prints the Kubernetes version of the control plane the tests run, read from the one place it is written.
set -euo pipefail
awk '$1 == "k8s.io/kubernetes" { sub(/^v/, "", $2); print $2 }' "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/controlplane/go.mod"
