package envoyproc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEnvoy is a shell script standing in for Envoy: it writes its pid and
// arguments to dir, then runs until dir/quit exists (unless stubborn).
func fakeEnvoy(t *testing.T, dir string, stubborn bool) string {
	t.Helper()
	loop := fmt.Sprintf("while [ ! -e %s ]; do sleep 0.02; done", shellQuote(filepath.Join(dir, "quit")))
	if stubborn {
		loop = "while :; do sleep 0.02; done"
	}
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %s\nprintf '%%s\\n' \"$@\" > %s\nprintf 'started\\n'\n%s\n",
		shellQuote(filepath.Join(dir, "pid")), shellQuote(filepath.Join(dir, "args")), loop)
	p := filepath.Join(dir, "fake-envoy")
	if err := os.WriteFile(p, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeAdmin answers /ready (LIVE once live is set), /listeners (naming
// listener) and /quitquitquit (creating dir/quit).
func fakeAdmin(t *testing.T, dir, listener string, live *atomic.Bool) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ready":
			if !live.Load() {
				http.Error(w, "PRE_INITIALIZING", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "LIVE")
		case "/listeners":
			fmt.Fprintf(w, "main::%s\n", listener)
		case "/quitquitquit":
			_ = os.WriteFile(filepath.Join(dir, "quit"), nil, 0o600)
			fmt.Fprintln(w, "OK")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// waitFile returns the content of a file the fake writes, once it has
// (the fake admin can answer before the fake Envoy has run).
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b := waitFile(t, path)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStartReadyStop(t *testing.T) {
	dir := t.TempDir()
	var live atomic.Bool
	admin := fakeAdmin(t, dir, "127.0.0.1:5555", &live)
	logPath := filepath.Join(dir, "envoy.log")
	work := filepath.Join(dir, "work")
	e, err := Start(Options{
		EnvoyPath:         fakeEnvoy(t, dir, false),
		Config:            "admin: {address: {socket_address: {port_value: 1}}}\n",
		AdminURL:          admin.URL,
		Listener:          "127.0.0.1:5555",
		Concurrency:       4,
		BaseID:            7,
		DisableHotRestart: true,
		LogLevel:          "warning",
		ComponentLogLevel: "wasm:debug",
		ExtraArgs:         []string{"--x", "y"},
		LogPath:           logPath,
		Prefix:            []string{"env", "A=1"},
		Dir:               work,
		PollInterval:      10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AwaitLive(200 * time.Millisecond); err == nil {
		t.Fatal("AwaitLive returned before /ready said LIVE")
	}
	live.Store(true)
	if err := e.AwaitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	pid, err := e.PID()
	if err != nil {
		t.Fatal(err)
	}
	if want := readInt(t, filepath.Join(dir, "pid")); pid != want {
		t.Errorf("PID() = %d, the script's pid is %d", pid, want)
	}
	args := waitFile(t, filepath.Join(dir, "args"))
	got := strings.Split(strings.TrimSpace(string(args)), "\n")
	want := []string{"-c", filepath.Join(work, "envoy.yaml"), "--concurrency", "4", "--log-level", "warning",
		"--component-log-level", "wasm:debug", "--base-id", "7", "--disable-hot-restart", "--x", "y"}
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("args %q\nwant them to start with %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(work, "envoy.yaml")); err != nil || !strings.Contains(string(b), "port_value: 1") {
		t.Errorf("config file: %q %v", b, err)
	}
	if e.ConfigPath() != filepath.Join(work, "envoy.yaml") || e.AdminURL() != admin.URL {
		t.Errorf("ConfigPath %s AdminURL %s", e.ConfigPath(), e.AdminURL())
	}
	if err := e.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if exited, err := e.Exited(0); !exited || err != nil {
		t.Errorf("after Stop: exited %v, err %v", exited, err)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "started") {
		t.Errorf("log %q lacks the fake's output", b)
	}
	if _, err := os.Stat(work); err != nil {
		t.Errorf("Dir given by the caller removed: %v", err)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStopKillsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	var live atomic.Bool
	live.Store(true)
	admin := fakeAdmin(t, dir, "", &live)
	// The admin URL comes from the configuration file.
	u, err := url.Parse(admin.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "given.yaml")
	cfg := fmt.Sprintf("admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: %s}}\n", u.Port())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := Run(Options{
		EnvoyPath:   fakeEnvoy(t, dir, true),
		ConfigPath:  cfgPath,
		StopTimeout: 300 * time.Millisecond,
	}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e.AdminURL() != admin.URL || e.ConfigPath() != cfgPath {
		t.Errorf("AdminURL %s, ConfigPath %s", e.AdminURL(), e.ConfigPath())
	}
	args := waitFile(t, filepath.Join(dir, "args"))
	if want := "-c\n" + cfgPath + "\n--concurrency\n1\n--admin-address-path\n"; !strings.HasPrefix(string(args), want) {
		t.Errorf("args %q, want them to start with %q (nothing but func-e's flags after ours: no log level, base id or hot restart flag)", args, want)
	}
	pid, err := e.PID()
	if err != nil {
		t.Fatal(err)
	}
	tmp := e.dir
	if err := e.Stop(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Stop of a process that ignores quitquitquit: %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z ") {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s left behind: %v", tmp, err)
	}
}

func TestExitBeforeReady(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fail")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho refused >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	var live atomic.Bool
	admin := fakeAdmin(t, dir, "", &live)
	e, err := Start(Options{EnvoyPath: p, Config: "x: 1\n", AdminURL: admin.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = e.AwaitReady(10 * time.Second)
	if err == nil || !strings.Contains(err.Error(), ErrExited.Error()) {
		t.Errorf("AwaitReady of a process that exits: %v", err)
	}
	if exited, runErr := e.Exited(time.Second); !exited || runErr == nil {
		t.Errorf("exited %v, err %v: want an exit status", exited, runErr)
	}
	e.Stop()
}

func TestStartRefuses(t *testing.T) {
	for name, o := range map[string]Options{
		"no binary":            {Config: "x: 1"},
		"no config":            {EnvoyPath: "/bin/true"},
		"both configs":         {EnvoyPath: "/bin/true", Config: "x: 1", ConfigPath: "a.yaml"},
		"no file to read":      {EnvoyPath: "/bin/true", ConfigPath: "/nonexistent/envoy.yaml"},
		"config without admin": {EnvoyPath: "/bin/true", Config: "static_resources: {}\n"},
	} {
		if e, err := Start(o); err == nil {
			e.Stop()
			t.Errorf("%s: started", name)
		}
	}
}

func TestWrapperScript(t *testing.T) {
	got := wrapperScript([]string{"taskset", "-c", "0"}, "/opt/it's/envoy")
	want := "#!/bin/sh\nexec 'taskset' '-c' '0' '/opt/it'\\''s/envoy' \"$@\"\n"
	if got != want {
		t.Errorf("wrapperScript:\n%s\nwant\n%s", got, want)
	}
	if SharedMemoryPath(12) != "/dev/shm/envoy_shared_memory_120" {
		t.Errorf("SharedMemoryPath(12) = %s", SharedMemoryPath(12))
	}
}

func TestFindChild(t *testing.T) {
	if _, err := FindChild(os.Getpid(), []byte("\x00no-such-marker-"+strconv.Itoa(os.Getpid())+"\x00")); err == nil {
		t.Error("found a child with a marker nobody has")
	}
	ppid, err := parentPID(os.Getpid())
	if err != nil || ppid != os.Getppid() {
		t.Errorf("parentPID = %d, %v; want %d", ppid, err, os.Getppid())
	}
}
