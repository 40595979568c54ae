package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	Event string // "" for the default "message" event
	Data  []byte
}

// errTruncatedLine means the stream ended in the middle of a line, which only
// happens when the server or the network cut the response short.
var errTruncatedLine = errors.New("stream ended in the middle of a line")

// maxSSELine bounds one line of the stream; a chunk bigger than this is not a
// token stream any server we know sends.
const maxSSELine = 8 << 20

// sseReader splits a text/event-stream into events as the WHATWG HTML
// standard describes: lines end with CRLF, LF or CR; "data:" lines accumulate
// (joined by '\n') until a blank line dispatches them; lines starting with
// ':' are comments (keep-alives); one space after the colon is dropped.
// Two deliberate leniencies, both for real servers: a final event that is
// not followed by a blank line is still dispatched at a clean end of stream,
// and an "error:" field (older llama-server sends `error: {json}`) becomes an
// event named "error" instead of being ignored.
type sseReader struct {
	sc      *bufio.Scanner
	partial bool // the last line had no terminator
	first   bool
	event   string
	data    []byte
	sawData bool
}

func newSSEReader(r io.Reader) *sseReader {
	s := &sseReader{first: true}
	s.sc = bufio.NewScanner(r)
	s.sc.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	s.sc.Split(s.splitLines)
	return s
}

// splitLines is a bufio.SplitFunc for the three SSE line terminators. A CR at
// the end of the buffer waits for more input to learn whether LF follows.
func (s *sseReader) splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF && len(data) > 0 {
		s.partial = true
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Next returns the next event, io.EOF at a clean end of stream,
// errTruncatedLine when the stream stopped mid-line, or the read error.
func (s *sseReader) Next() (sseEvent, error) {
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if s.partial {
			return sseEvent{}, errTruncatedLine
		}
		if s.first {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			s.first = false
		}
		if len(line) == 0 {
			if ev, ok := s.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			s.appendData(value)
		case "event":
			s.event = string(value)
		case "error":
			s.event = "error"
			s.appendData(value)
		}
		// "id", "retry" and unknown fields are ignored, as the standard says.
	}
	if err := s.sc.Err(); err != nil {
		return sseEvent{}, err
	}
	if ev, ok := s.dispatch(); ok {
		return ev, nil
	}
	return sseEvent{}, io.EOF
}

func (s *sseReader) appendData(v []byte) {
	if s.sawData {
		s.data = append(s.data, '\n')
	}
	s.data = append(s.data, v...)
	s.sawData = true
}

func (s *sseReader) dispatch() (sseEvent, bool) {
	if !s.sawData {
		s.event = ""
		return sseEvent{}, false
	}
	ev := sseEvent{Event: s.event, Data: s.data}
	s.event, s.data, s.sawData = "", nil, false
	return ev, true
}
