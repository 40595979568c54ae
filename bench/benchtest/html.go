package benchtest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// HTMLInfo is what CheckHTML learned about a document.
type HTMLInfo struct {
	Elements map[string]int // element name → count
	Text     string         // all character data, concatenated
}

// CheckHTML verifies that a report page is a complete, self-contained HTML
// document: a <!DOCTYPE html>, an <html> root holding <head> (with <title>)
// and <body>, every element properly nested and closed (the reports are
// written to be well-formed XML as well as HTML, so encoding/xml can check
// that without an HTML parser), no scripts, and no attribute that would
// fetch anything from the network.
func CheckHTML(doc []byte) (HTMLInfo, error) {
	info := HTMLInfo{Elements: map[string]int{}}
	if !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("<!DOCTYPE html>")) {
		return info, errors.New("no <!DOCTYPE html> at the start")
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	var stack []string
	var text strings.Builder
	roots := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return info, fmt.Errorf("not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if len(stack) == 0 {
				roots++
				if name != "html" {
					return info, fmt.Errorf("root element <%s>, want <html>", name)
				}
			}
			if name == "script" || name == "iframe" || name == "link" || name == "img" {
				return info, fmt.Errorf("<%s> element: reports must be self-contained", name)
			}
			for _, a := range t.Attr {
				k := strings.ToLower(a.Name.Local)
				if (k == "src" || k == "href") || strings.HasPrefix(k, "on") {
					return info, fmt.Errorf("<%s %s=%q>: no external references or handlers allowed", name, k, a.Value)
				}
			}
			info.Elements[name]++
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1] // the strict decoder already matched the names
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return info, errors.New("text outside the root element")
			}
			text.Write(t)
		}
	}
	if roots != 1 {
		return info, fmt.Errorf("%d root elements", roots)
	}
	for _, need := range []string{"head", "title", "body"} {
		if info.Elements[need] == 0 {
			return info, fmt.Errorf("no <%s>", need)
		}
	}
	info.Text = text.String()
	return info, nil
}
