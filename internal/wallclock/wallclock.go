// Package wallclock reads the wall clock with one host call.
//
// In a wasip1 module time.Now makes two WASI calls (clock_time_get for the
// wall clock, then for the monotonic one), each a crossing out of the VM.
// The filter needs the wall clock only (token times are Unix seconds), once
// per request: Now makes the one call. Outside wasip1 it is time.Now.
package wallclock
