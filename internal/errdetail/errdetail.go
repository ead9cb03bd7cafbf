// Package errdetail wraps a sentinel error with a detail for logs, as
// fmt.Errorf("%w: %s", sentinel, detail) would, without fmt: the filter's
// Wasm build leaves fmt out (a quarter of a megabyte of module that Envoy
// compiles at every start).
package errdetail

// Error reads "<sentinel>: <detail>"; errors.Is and errors.As see the
// sentinel.
type Error struct {
	Sentinel error
	Detail   string
}

// New returns sentinel wrapped with detail.
func New(sentinel error, detail string) error {
	return &Error{Sentinel: sentinel, Detail: detail}
}

func (e *Error) Error() string { return e.Sentinel.Error() + ": " + e.Detail }

func (e *Error) Unwrap() error { return e.Sentinel }
