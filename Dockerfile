# Build the manager binary: static, so it runs on distroless.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
# The release `manager version` reports; empty: the commit Go stamps.
ARG VERSION=

WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download

COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags="-s -w ${VERSION:+-X github.com/stellar-k8s/stellar-operator/internal/operator.Version=${VERSION}}" -o manager ./cmd

# The same image runs the operator and the render-config step of validator pods.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532

ENTRYPOINT ["/manager"]
