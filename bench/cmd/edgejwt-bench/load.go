package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

//go:embed bench.lua
var benchLua []byte

// wrkResult is what bench.lua's done() prints.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"` // responses with a status >= 400
	Timeouts      int64   `json:"timeouts"`
	LatMeanUS     float64 `json:"lat_mean_us"`
	LatP50US      int64   `json:"lat_p50_us"`
	LatP90US      int64   `json:"lat_p90_us"`
	LatP99US      int64   `json:"lat_p99_us"`
	LatP999US     int64   `json:"lat_p999_us"`
	LatMaxUS      int64   `json:"lat_max_us"`
}

// runWrk drives url for d with the tokens of tokenFile, on the load
// generator's CPU, and returns wrk's figures and the CPU time wrk used.
func (b *bench) runWrk(url, tokenFile string, d time.Duration) (wrkResult, float64, error) {
	var res wrkResult
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := []string{b.wrkPath,
		"-t", strconv.Itoa(b.threads),
		"-c", strconv.Itoa(b.connections),
		"-d", strconv.Itoa(secs) + "s",
		"--timeout", "10s",
		"-s", b.luaPath,
		url, "--", tokenFile, strconv.Itoa(b.threads),
	}
	if b.pin {
		args = append([]string{"taskset", "-c", strconv.Itoa(b.loadCPU)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return res, 0, fmt.Errorf("wrk: %v: %s%s", err, out.String(), errb.String())
	}
	cpu := cmd.ProcessState.UserTime().Seconds() + cmd.ProcessState.SystemTime().Seconds()
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "BENCHJSON "); ok {
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				return res, cpu, fmt.Errorf("wrk output: %v", err)
			}
			return res, cpu, nil
		}
	}
	return res, cpu, fmt.Errorf("wrk printed no result: %s%s", out.String(), errb.String())
}
