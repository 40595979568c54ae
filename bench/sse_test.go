package bench

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAllEvents(r io.Reader) ([]sseEvent, error) {
	sr := newSSEReader(r)
	var evs []sseEvent
	for {
		ev, err := sr.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []sseEvent
		wantErr error
	}{
		{"lf", "data: a\n\ndata: b\n\n", []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}, nil},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}, nil},
		{"cr", "data: a\r\rdata: b\r\r", []sseEvent{{Data: []byte("a")}, {Data: []byte("b")}}, nil},
		{"multiline data joined by LF", "data: x\ndata: y\n\n", []sseEvent{{Data: []byte("x\ny")}}, nil},
		{"no space after colon", "data:x\n\n", []sseEvent{{Data: []byte("x")}}, nil},
		{"only one space dropped", "data:  x\n\n", []sseEvent{{Data: []byte(" x")}}, nil},
		{"comments and keep-alives", ": ping\n\n:\ndata: a\n\n", []sseEvent{{Data: []byte("a")}}, nil},
		{"named event", "event: done\ndata: z\n\n", []sseEvent{{Event: "done", Data: []byte("z")}}, nil},
		{"event without data is dropped", "event: x\n\ndata: a\n\n", []sseEvent{{Data: []byte("a")}}, nil},
		{"llama-server error field", "error: {\"message\":\"m\"}\n\n", []sseEvent{{Event: "error", Data: []byte(`{"message":"m"}`)}}, nil},
		{"id and retry ignored", "id: 7\nretry: 10\ndata: a\n\n", []sseEvent{{Data: []byte("a")}}, nil},
		{"leading BOM", "\xef\xbb\xbfdata: a\n\n", []sseEvent{{Data: []byte("a")}}, nil},
		{"last event without blank line", "data: a\n\ndata: [DONE]\n", []sseEvent{{Data: []byte("a")}, {Data: []byte("[DONE]")}}, nil},
		{"cut mid-line", "data: a\n\ndata: {\"cho", []sseEvent{{Data: []byte("a")}}, errTruncatedLine},
		{"empty stream", "", nil, nil},
	}
	for _, tc := range cases {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if oneByte {
				// One byte per read puts every CR at the end of a buffer.
				r = iotest.OneByteReader(r)
			}
			got, err := readAllEvents(r)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s (one byte %v): err %v, want %v", tc.name, oneByte, err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Errorf("%s (one byte %v): %d events %q, want %d", tc.name, oneByte, len(got), got, len(tc.want))
				continue
			}
			for i := range got {
				if got[i].Event != tc.want[i].Event || string(got[i].Data) != string(tc.want[i].Data) {
					t.Errorf("%s (one byte %v): event %d = %q/%q, want %q/%q", tc.name, oneByte, i,
						got[i].Event, got[i].Data, tc.want[i].Event, tc.want[i].Data)
				}
			}
		}
	}
}

func TestSSEReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom))
	got, err := readAllEvents(r)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("events %q, err %v; want one event then boom", got, err)
	}
}
