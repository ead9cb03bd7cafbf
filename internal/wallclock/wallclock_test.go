package wallclock

import (
	"testing"
	"time"
)

func TestNow(t *testing.T) {
	before := time.Now()
	got := Now()
	after := time.Now()
	if got.Before(before.Truncate(time.Microsecond)) || got.After(after) {
		t.Errorf("Now() = %v, not between %v and %v", got, before, after)
	}
	if got != got.Round(0) {
		t.Error("Now() carries a monotonic reading")
	}
}
