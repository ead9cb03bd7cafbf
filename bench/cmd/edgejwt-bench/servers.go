package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyadmin"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

const (
	envoyReadyTimeout = 3 * time.Minute
	nodeReadyTimeout  = 30 * time.Second
	stopTimeout       = 10 * time.Second
)

// server is one running server under test: Envoy in front of the upstream
// (or answering itself), or the Node service.
type server struct {
	pid     int    // the process whose CPU and memory are measured
	url     string // http://127.0.0.1:port/protected
	admin   string // Envoy's admin base URL; "" for Node
	logPath string
	stop    func()

	// Envoy's start: its CPU time (all threads, user+system) from exec to
	// the first 200 of /ready, the wall time from Start to then, and its
	// RSS at that moment.
	startCPUSec  float64
	startWallSec float64
	readyRSSKB   int64
}

// envoyStart says how to start one Envoy setup.
type envoyStart struct {
	spec        setupSpec
	mode        string
	concurrency int           // --concurrency; 0 means 1
	poll        time.Duration // how often /ready is polled; 0: 50ms
	prefix      []string      // a command Envoy runs through (valgrind), after taskset
}

// startEnvoy writes the setup's configuration and runs Envoy through
// envoyproc (func-e), pinned to the server CPU when pinning, and returns
// once its listener serves. The moment /ready first answers 200 it reads
// Envoy's CPU time and RSS (the start-up figures).
func (b *bench) startEnvoy(p envoyStart) (*server, error) {
	adminPort, err := devservers.FreePort()
	if err != nil {
		return nil, err
	}
	listenPort, err := devservers.FreePort()
	if err != nil {
		return nil, err
	}
	cfg := b.envoyConfig(p.spec, p.mode, adminPort, listenPort)
	yaml, err := cfg.Render()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(b.tmp, "envoy-"+p.spec.ID+"-"+p.mode+"-")
	if err != nil {
		return nil, err
	}
	o := envoyproc.Options{
		EnvoyPath:         b.envoyPath,
		Config:            yaml,
		Listener:          cfg.ListenerAddr(0),
		Concurrency:       p.concurrency,
		DisableHotRestart: true,
		LogLevel:          "warning",
		LogPath:           filepath.Join(dir, "envoy.log"),
		Dir:               dir,
		PollInterval:      p.poll,
		StopTimeout:       stopTimeout,
	}
	if b.pin {
		// The wrapper execs taskset, which execs Envoy: one process, pinned
		// from its start.
		o.Prefix = []string{"taskset", "-c", strconv.Itoa(b.serverCPU)}
	}
	o.Prefix = append(o.Prefix, p.prefix...)
	t0 := time.Now()
	e, err := envoyproc.Start(o)
	if err != nil {
		return nil, err
	}
	s := &server{
		url:     cfg.ListenerURL(0) + benchPath,
		admin:   e.AdminURL(),
		logPath: o.LogPath,
		stop: func() {
			if err := e.Stop(); err != nil {
				logf("setup %s (%s): %v", p.spec.ID, p.mode, err)
			}
		},
	}
	fail := func(err error) (*server, error) {
		e.Stop()
		if c := firstCritical(o.LogPath); c != "" {
			err = fmt.Errorf("envoy refused to start: %s", c)
		}
		return nil, fmt.Errorf("%w\n%s", err, tail(o.LogPath, 30))
	}
	if err := e.AwaitLive(envoyReadyTimeout); err != nil {
		return fail(err)
	}
	s.startWallSec = time.Since(t0).Seconds()
	if s.pid, err = e.PID(); err != nil {
		return fail(err)
	}
	if s.startCPUSec, err = procCPU(s.pid); err != nil {
		return fail(err)
	}
	s.readyRSSKB, _ = procStatusKB(s.pid, "VmRSS")
	if err := e.AwaitReady(envoyReadyTimeout); err != nil {
		return fail(err)
	}
	return s, nil
}

// envoyStats returns the stats of one type (Counters, Gauges; "" for both)
// of Envoy's /stats whose names match the regular expression filter.
func envoyStats(admin, typ, filter string) (map[string]int64, error) {
	return envoyadmin.Stats(&http.Client{Timeout: 5 * time.Second}, admin, filter, typ)
}

// startNode runs setup (d): node server.js, pinned, listening on a free
// port; it returns once the port accepts connections.
func (b *bench) startNode() (*server, error) {
	port, err := devservers.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(b.tmp, "node-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "node.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{b.nodePath, "server.js"}
	if b.pin {
		args = append([]string{"taskset", "-c", strconv.Itoa(b.serverCPU)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = b.nodeDir
	cmd.Env = append(os.Environ(),
		"NODE_ENV=production",
		"BENCH_ISSUER="+b.issuer.Name,
		"BENCH_AUDIENCE="+audience,
		"BENCH_JWKS_URI="+b.issuer.JWKSURI(),
		"BENCH_PORT="+strconv.Itoa(port),
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s := &server{
		pid:     cmd.Process.Pid,
		url:     fmt.Sprintf("http://127.0.0.1:%d%s", port, benchPath),
		logPath: logPath,
	}
	var once bool
	s.stop = func() {
		if once {
			return
		}
		once = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	}
	if err := awaitPort(fmt.Sprintf("127.0.0.1:%d", port), nodeReadyTimeout, exited); err != nil {
		s.stop()
		return nil, fmt.Errorf("node: %w\n%s", err, tail(logPath, 30))
	}
	return s, nil
}

// awaitPort waits until addr accepts a TCP connection.
func awaitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("process exited before it listened")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v", addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startUpstream runs the upstream of setups (a), (b) and (c): this program
// with -upstream, on the load generator's CPU, one Go thread.
func (b *bench) startUpstream() (port int, pid int, stop func(), err error) {
	port, err = devservers.FreePort()
	if err != nil {
		return 0, 0, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, 0, nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{self, "-upstream", addr}
	if b.pin {
		args = append([]string{"taskset", "-c", strconv.Itoa(b.loadCPU)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, 0, nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := awaitPort(addr, 10*time.Second, exited); err != nil {
		stop()
		return 0, 0, nil, fmt.Errorf("upstream: %w", err)
	}
	return port, cmd.Process.Pid, stop, nil
}

// serveUpstream is the upstream: 200 and a small JSON body naming the
// subject the auth filter put in x-jwt-sub, for any request.
func serveUpstream(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ct := []string{"application/json"}
	prefix := []byte(`{"message":"Access granted","sub":`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 128)
		body = append(body, prefix...)
		body = strconv.AppendQuoteToASCII(body, r.Header.Get(subHeader))
		body = append(body, "}\n"...)
		w.Header()["Content-Type"] = ct
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// firstCritical is the message of the first critical line of an Envoy log
// (a filter that refused its configuration says why there), or "".
func firstCritical(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "[critical]") {
			if i := strings.LastIndex(line, "] "); i >= 0 {
				return strings.TrimSpace(line[i+2:])
			}
			return line
		}
	}
	return ""
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}
