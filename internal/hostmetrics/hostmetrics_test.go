//go:build !wasip1

package hostmetrics

import "testing"

func TestMetrics(t *testing.T) {
	c, err := DefineCounter("test.counter")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2)
	again, _ := DefineCounter("test.counter") // the same metric, as in the host
	again.Add(3)
	g, _ := DefineGauge("test.gauge")
	g.Add(10)
	g.Add(-4)
	for name, want := range map[string]int64{"test.counter": 5, "test.gauge": 6} {
		if v, ok := Read(name); !ok || v != want {
			t.Errorf("%s = %d, %v; want %d", name, v, ok, want)
		}
	}
	g.Set(42)
	if v, _ := Read("test.gauge"); v != 42 {
		t.Errorf("after Set(42): %d", v)
	}
	if _, err := DefineGauge(""); err == nil {
		t.Error("an empty name was defined")
	}
	if _, ok := Read("never.defined"); ok {
		t.Error("Read found a metric never defined")
	}
}
