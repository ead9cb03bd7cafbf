// Package hostmetrics defines and updates the filter's metrics in the
// proxy-wasm host (Envoy files them under "wasmcustom." in /stats).
//
// It is the project's own binding of the four metric calls of the
// proxy-wasm ABI, used instead of the SDK's: the SDK's metric functions
// panic with fmt.Sprintf on any host error, which links fmt (with reflect
// and float formatting, about 0.3 MB) into every module, and a metric must
// never fail a request. Here an error is returned at definition and
// ignored on update. Without the wasip1 tag (native tests) the metrics live
// in this process, readable with Read.
package hostmetrics

// Kind is a metric type of the proxy-wasm ABI.
type Kind uint32

// The metric types.
const (
	KindCounter   Kind = 0
	KindGauge     Kind = 1
	KindHistogram Kind = 2
)

// Counter is a defined counter.
type Counter struct{ id uint32 }

// Gauge is a defined gauge.
type Gauge struct{ id uint32 }

// DefineCounter defines (or finds: the host keys metrics by name) a counter.
func DefineCounter(name string) (Counter, error) {
	id, err := define(KindCounter, name)
	return Counter{id}, err
}

// DefineGauge defines (or finds) a gauge.
func DefineGauge(name string) (Gauge, error) {
	id, err := define(KindGauge, name)
	return Gauge{id}, err
}

// Add adds n to the counter.
func (c Counter) Add(n uint64) { increment(c.id, int64(n)) }

// Set sets the gauge to v: the last VM to set a shared gauge wins.
func (g Gauge) Set(v uint64) { record(g.id, v) }

// Add adds d (which may be negative) to the gauge: VMs that each add the
// change of their own share keep a sum over VMs.
func (g Gauge) Add(d int64) { increment(g.id, d) }
