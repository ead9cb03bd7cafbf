//go:build !wasip1

package wallclock

import "time"

// Now is time.Now without its monotonic reading, as in Wasm.
func Now() time.Time { return time.Now().Round(0) }
