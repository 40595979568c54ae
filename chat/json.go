package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JSON is JSON text a template sees as the value it encodes, with objects'
// keys in the text's order: a tool's parameters schema rendered with tojson
// must read as the client wrote it, as transformers' Python dicts keep it.
type JSON []byte

// decodeJSON converts JSON text into template values: objects become
// ordered dicts, integers int64 and other numbers float64.
func decodeJSON(raw []byte) (value, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	v, err := decodeJSONValue(d, 0)
	if err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode JSON: text after the value")
	}
	return v, nil
}

func decodeJSONValue(d *json.Decoder, depth int) (value, error) {
	if depth > 200 {
		return nil, fmt.Errorf("value nested too deep")
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newDict()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeJSONValue(d, depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				o.set(k, v)
			}
			_, err := d.Token() // the closing brace
			return o, err
		case '[':
			l := []value{}
			for d.More() {
				v, err := decodeJSONValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := d.Token()
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		s := t.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s", s)
		}
		return f, nil
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}
