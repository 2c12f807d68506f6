package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stellar-k8s/stellar-operator/internal/archive"
)

// Command is the subcommand of the operator's binary that runs the agent.
const Command = "agent"

// StatusPath is where the agent serves its status document.
const StatusPath = "/status"

// QuorumPath is where the agent serves the transitive quorum map its stellar-core reports, in the
// format of check-quorum-intersection's input: keys and quorum sets only.
const QuorumPath = "/quorum"

// DefaultMetricsCache is how long one read of stellar-core serves scrapes: Prometheus scrapes every 15-60 s.
const DefaultMetricsCache = 5 * time.Second

// Args are the agent's arguments: the StatefulSet builder writes them with List, Run reads them.
type Args struct {
	// AdminPort is stellar-core's HTTP_PORT, asked on 127.0.0.1.
	AdminPort int
	// Port serves /status and /metrics.
	Port int
	// PeersFile, Self and NetworkID drive live peering; an empty PeersFile turns it off.
	PeersFile, Self, NetworkID string
	// VotesFile is the mounted stellar-votes votes.json (with Self); empty turns voting off.
	VotesFile string
	// ArchiveDir and ArchivePort serve a Full validator's local archive; empty for none.
	ArchiveDir  string
	ArchivePort int
	// PublishQueue is stellar-core's <BUCKET_DIR>/publishqueue, for the publish backlog of a Full validator.
	PublishQueue string
	// ConnectInterval is the time between live-peering rounds.
	ConnectInterval time.Duration
	// MetricsCache is how long one read of stellar-core serves /metrics scrapes; 0 reads it each time.
	MetricsCache time.Duration
}

// List is the container's argument list, the subcommand first.
func (a Args) List() []string {
	out := []string{Command, "--admin-port=" + strconv.Itoa(a.AdminPort), "--port=" + strconv.Itoa(a.Port)}
	if a.PeersFile != "" {
		out = append(out, "--peers="+a.PeersFile, "--self="+a.Self, "--network-id="+a.NetworkID)
	}
	if a.VotesFile != "" {
		out = append(out, "--votes="+a.VotesFile)
		if a.PeersFile == "" {
			out = append(out, "--self="+a.Self)
		}
	}
	if a.ArchiveDir != "" {
		out = append(out, "--archive-dir="+a.ArchiveDir, "--archive-port="+strconv.Itoa(a.ArchivePort))
	}
	if a.PublishQueue != "" {
		out = append(out, "--publish-queue="+a.PublishQueue)
	}
	return out
}

// ParseArgs reads the arguments that follow the subcommand.
func ParseArgs(args []string) (Args, error) {
	a := Args{ConnectInterval: 15 * time.Second, MetricsCache: DefaultMetricsCache}
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.IntVar(&a.AdminPort, "admin-port", 11626, "stellar-core's HTTP_PORT, asked on 127.0.0.1")
	fs.IntVar(&a.Port, "port", 0, "port of /status and /metrics")
	fs.StringVar(&a.PeersFile, "peers", "", "the mounted stellar-peers peers.json; empty turns live peering off")
	fs.StringVar(&a.Self, "self", "", "the validator's StellarNode name")
	fs.StringVar(&a.NetworkID, "network-id", "", "the validator's network ID")
	fs.StringVar(&a.VotesFile, "votes", "", "the mounted stellar-votes votes.json; empty turns voting off")
	fs.StringVar(&a.ArchiveDir, "archive-dir", "", "serve this history archive read-only")
	fs.IntVar(&a.ArchivePort, "archive-port", 0, "port of the history archive")
	fs.StringVar(&a.PublishQueue, "publish-queue", "", "stellar-core's publish queue directory")
	fs.DurationVar(&a.ConnectInterval, "connect-interval", a.ConnectInterval, "time between live-peering rounds")
	fs.DurationVar(&a.MetricsCache, "metrics-cache", a.MetricsCache, "how long one read of stellar-core serves /metrics scrapes")
	if err := fs.Parse(args); err != nil {
		return Args{}, err
	}
	switch {
	case a.Port <= 0 || a.Port > 65535:
		return Args{}, errors.New("agent needs --port")
	case a.ArchiveDir != "" && (a.ArchivePort <= 0 || a.ArchivePort > 65535):
		return Args{}, errors.New("--archive-dir needs --archive-port")
	case a.PeersFile != "" && (a.Self == "" || a.NetworkID == ""):
		return Args{}, errors.New("--peers needs --self and --network-id")
	case a.VotesFile != "" && a.Self == "":
		return Args{}, errors.New("--votes needs --self")
	case a.ConnectInterval <= 0:
		return Args{}, errors.New("--connect-interval must be positive")
	case a.MetricsCache < 0:
		return Args{}, errors.New("--metrics-cache must not be negative")
	}
	return a, nil
}

// Agent is the sidecar's handlers and live-peering loop, without listeners (tests serve them on loopback).
type Agent struct {
	Status                  http.Handler
	Quorum                  http.Handler
	Metrics                 http.Handler
	Archive                 http.Handler // nil without an archive
	peering                 *Peering
	voting                  *Voting
	connects, peeringErrors prometheus.Counter
	voteErrors              prometheus.Counter
	interval                time.Duration
	log                     io.Writer
}

// New builds the agent of args, asking stellar-core at admin (a port, or a URL in tests).
func New(a Args, admin *Admin, log io.Writer) *Agent {
	reg := prometheus.NewRegistry()
	var voting *Voting
	if a.VotesFile != "" {
		voting = &Voting{Admin: admin, VotesFile: a.VotesFile, Self: a.Self}
	}
	ag := &Agent{
		Status:   statusHandler{admin: admin, publishQueue: a.PublishQueue, voting: voting, now: time.Now},
		Quorum:   quorumHandler{admin: admin},
		interval: a.ConnectInterval, log: log, voting: voting,
		voteErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "stellar_operator_agent_vote_errors_total",
			Help: "Voting rounds that failed (stellar-core or the votes file unreadable, or a vote it did not take)."}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{Name: "stellar_operator_agent_connects_total",
			Help: "Peers the agent asked stellar-core to connect to (live peering)."}),
		peeringErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "stellar_operator_agent_peering_errors_total",
			Help: "Live-peering rounds that failed (stellar-core or the peers file unreadable)."}),
	}
	scrapeErrors := prometheus.NewCounter(prometheus.CounterOpts{Name: "stellar_operator_agent_scrape_errors_total",
		Help: "Scrapes stellar-core's admin API did not answer."})
	core := &coreCollector{admin: admin, errors: scrapeErrors, publishQueue: a.PublishQueue, now: time.Now, ttl: a.MetricsCache}
	reg.MustRegister(core, scrapeErrors, ag.connects, ag.peeringErrors, ag.voteErrors)
	if a.ArchiveDir != "" {
		ag.Archive = archive.NewServer(a.ArchiveDir, reg)
	}
	if a.PeersFile != "" {
		ag.peering = &Peering{Admin: admin, PeersFile: a.PeersFile, Self: a.Self, NetworkID: a.NetworkID,
			MaxPerRound: 4, Backoff: 4 * a.ConnectInterval}
	}
	ag.Metrics = coreMetricsHandler{core: core, next: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	return ag
}

// RunPeering runs live-peering rounds until ctx ends. An error is counted and logged, never fatal.
func (ag *Agent) RunPeering(ctx context.Context) {
	if ag.peering == nil {
		return
	}
	ag.everyInterval(ctx, func() {
		dialled, err := ag.peering.Round(ctx, time.Now())
		ag.connects.Add(float64(len(dialled)))
		if len(dialled) > 0 {
			_, _ = fmt.Fprintf(ag.log, "asked stellar-core to connect to %v\n", dialled)
		}
		if err != nil {
			ag.peeringErrors.Inc()
			_, _ = fmt.Fprintf(ag.log, "live peering: %v\n", err)
		}
	})
}

// RunVoting keeps the validator's vote armed until ctx ends, a round per interval. An error is
// counted, logged and reported in /status, never fatal.
func (ag *Agent) RunVoting(ctx context.Context) {
	if ag.voting == nil {
		return
	}
	ag.everyInterval(ctx, func() {
		did, err := ag.voting.Round(ctx, time.Now())
		if did != "" {
			_, _ = fmt.Fprintf(ag.log, "votes: %s\n", did)
		}
		if err != nil {
			ag.voteErrors.Inc()
			_, _ = fmt.Fprintf(ag.log, "votes: %v\n", err)
		}
	})
}

// everyInterval runs round at once, then once per interval, until ctx ends.
func (ag *Agent) everyInterval(ctx context.Context, round func()) {
	ticker := time.NewTicker(ag.interval)
	defer ticker.Stop()
	for {
		round()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Run serves the agent until ctx ends.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
	a, err := ParseArgs(args)
	if err != nil {
		return err
	}
	ag := New(a, NewAdmin(strconv.Itoa(a.AdminPort)), stdout)
	mux := http.NewServeMux()
	mux.Handle(StatusPath, ag.Status)
	mux.Handle(QuorumPath, ag.Quorum)
	mux.Handle("/metrics", ag.Metrics)
	servers := []*http.Server{newServer(mux)}
	addrs := []string{fmt.Sprintf(":%d", a.Port)}
	if ag.Archive != nil {
		servers, addrs = append(servers, newServer(ag.Archive)), append(addrs, fmt.Sprintf(":%d", a.ArchivePort))
	}
	errs := make(chan error, len(servers))
	for i, srv := range servers {
		ln, err := net.Listen("tcp", addrs[i])
		if err != nil {
			return err
		}
		go func() { errs <- srv.Serve(ln) }()
	}
	_, _ = fmt.Fprintf(stdout, "agent serving %v\n", addrs)
	go ag.RunPeering(ctx)
	go ag.RunVoting(ctx)
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	return nil
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
}
