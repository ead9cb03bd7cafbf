package jwkscache

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Entry is what one fetch leaves in shared data for every VM of the Envoy
// process: the JWKS document exactly as received, and when it was fetched.
//
// Encoded form: "edgejwt-jwks/1 <fetched-at, Unix milliseconds>\n<document>".
// The version prefix lets a newer filter refuse an entry written by an older
// one during a hot restart instead of misreading it.
type Entry struct {
	FetchedAt time.Time
	Document  []byte
}

const entryMagic = "edgejwt-jwks/1 "

var errBadEntry = errors.New("jwkscache: malformed shared-data entry")

// Encode returns the shared-data form of e.
func (e Entry) Encode() []byte {
	b := make([]byte, 0, len(entryMagic)+20+len(e.Document))
	b = append(b, entryMagic...)
	b = strconv.AppendInt(b, e.FetchedAt.UnixMilli(), 10)
	b = append(b, '\n')
	return append(b, e.Document...)
}

// DecodeEntry parses the shared-data form. The document is not copied.
func DecodeEntry(b []byte) (Entry, error) {
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return Entry{}, errBadEntry
	}
	ts, doc, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return Entry{}, errBadEntry
	}
	ms, err := strconv.ParseInt(string(ts), 10, 64)
	if err != nil || ms < 0 {
		return Entry{}, errBadEntry
	}
	return Entry{FetchedAt: time.UnixMilli(ms), Document: doc}, nil
}
