package jwkscache

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Entry is what one fetch leaves in shared data for every VM of the Envoy
// process: the JWKS document exactly as received, when it was fetched and
// when it is due to be fetched again (from Cache-Control or the interval).
//
// Encoded form:
//
//	edgejwt-jwks/1 <fetched-at> <refresh-at>\n<document>
//
// with both times in Unix milliseconds. The version prefix lets a newer
// filter refuse an entry written by an older one instead of misreading it.
type Entry struct {
	FetchedAt time.Time
	RefreshAt time.Time
	Document  []byte
}

const entryMagic = "edgejwt-jwks/1 "

var errBadEntry = errors.New("jwkscache: malformed shared-data entry")

// Encode returns the shared-data form of e.
func (e Entry) Encode() []byte {
	b := make([]byte, 0, len(entryMagic)+40+len(e.Document))
	b = append(b, entryMagic...)
	b = strconv.AppendInt(b, e.FetchedAt.UnixMilli(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.RefreshAt.UnixMilli(), 10)
	b = append(b, '\n')
	return append(b, e.Document...)
}

// DecodeEntry parses the shared-data form. The document is not copied.
func DecodeEntry(b []byte) (Entry, error) {
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return Entry{}, errBadEntry
	}
	line, doc, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return Entry{}, errBadEntry
	}
	f, r, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return Entry{}, errBadEntry
	}
	fetched, err1 := parseMillis(f)
	refresh, err2 := parseMillis(r)
	if err1 != nil || err2 != nil {
		return Entry{}, errBadEntry
	}
	return Entry{FetchedAt: fetched, RefreshAt: refresh, Document: doc}, nil
}

func parseMillis(b []byte) (time.Time, error) {
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, errBadEntry
	}
	return time.UnixMilli(ms), nil
}
