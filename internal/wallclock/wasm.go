//go:build wasip1

package wallclock

import "time"

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, t *uint64) uint32

const clockRealtime = 0

// Now is the wall-clock time, without a monotonic reading; on a host error
// it falls back to time.Now.
func Now() time.Time {
	var ns uint64
	if clockTimeGet(clockRealtime, 1, &ns) != 0 {
		return time.Now()
	}
	return time.Unix(0, int64(ns))
}
