//go:build soak

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak (make soak; build tag soak) drives mixed valid, invalid and
// missing tokens through Envoy with two workers at saturation for
// $EDGEJWT_SOAK_DURATION (default 3m), sampling the Wasm VMs' memory
// (edgejwt.vm_memory_bytes, a VM's memory, set by each VM) every 5 s. It fails on any
// 5xx, any VM reload or Wasm error, and on memory that keeps growing in the
// second half of the run (Go's linear memory never shrinks, so a leak ends
// in a dead VM). The series goes to build/soak.csv.
func TestSoak(t *testing.T) {
	duration := 3 * time.Minute
	if v := os.Getenv("EDGEJWT_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("EDGEJWT_SOAK_DURATION: %v", err)
		}
		duration = d
	}
	s := newStack(t, stackOptions{concurrency: 2})
	valid := make([]string, 64)
	for i := range valid {
		c := s.validClaims()
		c["sub"] = fmt.Sprintf("user-%d", i)
		valid[i] = s.issuer.MustMint(c)
	}
	expired := s.validClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	bad := []http.Header{
		nil,
		bearer(valid[0][:len(valid[0])-4] + "AAAA"),
		bearer(s.issuer.MustMint(expired)),
		bearer("garbage"),
	}

	var sent, ok, refused, other atomic.Int64
	var firstOther atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h := bearer(valid[(i*8+w)%len(valid)])
				if i%3 == 2 {
					h = bad[(i/3+w)%len(bad)]
				}
				req, _ := http.NewRequest(http.MethodGet, s.envoy.listener+"/soak", nil)
				for k, v := range h {
					req.Header[k] = v
				}
				resp, err := client.Do(req)
				sent.Add(1)
				if err != nil {
					other.Add(1)
					firstOther.CompareAndSwap(nil, err.Error())
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusUnauthorized:
					refused.Add(1)
				default:
					other.Add(1)
					firstOther.CompareAndSwap(nil, resp.Status)
				}
			}
		})
	}

	type sample struct {
		at     time.Duration
		memory int64
		sent   int64
	}
	var series []sample
	start := time.Now()
	for time.Since(start) < duration {
		time.Sleep(5 * time.Second)
		stats := statsOf(t, s)
		series = append(series, sample{time.Since(start), stats["wasmcustom.edgejwt.vm_memory_bytes"], sent.Load()})
		if n := stats["wasm.edgejwt.vm_reload_success"] + stats["wasm.edgejwt.vm_reload_failure"]; n != 0 {
			t.Errorf("the Wasm VM was reloaded %d times", n)
		}
	}
	close(stop)
	wg.Wait()

	var csv strings.Builder
	csv.WriteString("seconds,vm_memory_bytes,requests\n")
	for _, x := range series {
		fmt.Fprintf(&csv, "%.0f,%d,%d\n", x.at.Seconds(), x.memory, x.sent)
	}
	out := filepath.Join("..", "build", "soak.csv")
	if err := os.WriteFile(out, []byte(csv.String()), 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("%d requests in %v (%.0f/s): %d allowed, %d refused, %d other (first: %v)",
		sent.Load(), duration, float64(sent.Load())/duration.Seconds(), ok.Load(), refused.Load(), other.Load(), firstOther.Load())
	t.Logf("VM memory (both VMs): %s", memoryLine(series[0].memory, series[len(series)/2].memory, series[len(series)-1].memory))
	if other.Load() != 0 {
		t.Errorf("%d requests neither allowed nor refused (first: %v)", other.Load(), firstOther.Load())
	}
	if ok.Load() == 0 || refused.Load() == 0 {
		t.Error("the mix did not produce both outcomes")
	}
	// Levelling off: the second half may not grow by more than 10% + 1 MiB
	// over the peak of the first half.
	var firstPeak, secondPeak int64
	for i, x := range series {
		if i < len(series)/2 {
			firstPeak = max(firstPeak, x.memory)
		} else {
			secondPeak = max(secondPeak, x.memory)
		}
	}
	if secondPeak > firstPeak+firstPeak/10+1<<20 {
		t.Errorf("VM memory still growing: peak %d in the first half, %d in the second", firstPeak, secondPeak)
	}
}

func memoryLine(start, mid, end int64) string {
	mb := func(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }
	return "start " + mb(start) + ", half-way " + mb(mid) + ", end " + mb(end)
}
