package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// htmlStyle is the report's whole stylesheet. It avoids '<' and '&' so the
// document stays well-formed XML as well as HTML.
const htmlStyle = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; }
th { background: #f2f2f2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .8em; overflow-x: auto; font-size: .85em; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.meta { color: #555; }
`

// WriteHTML renders the report as one self-contained HTML page: inline CSS,
// inline SVG charts, no scripts and nothing fetched from the network. The
// output is also well-formed XML (every element closed, attributes quoted),
// which keeps it easy to check mechanically.
func WriteHTML(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	bw.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(bw, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(r.Title), htmlStyle)
	fmt.Fprintf(bw, "<h1>%s</h1>\n<p class=\"meta\">", esc(r.Title))
	if r.Label != "" {
		fmt.Fprintf(bw, "Run <b>%s</b> · ", esc(r.Label))
	}
	fmt.Fprintf(bw, "kind <code>%s</code> · created %s</p>\n", esc(r.Kind), esc(r.Created.UTC().Format(time.RFC3339)))
	for _, s := range r.Sections {
		if err := htmlSection(bw, s); err != nil {
			return err
		}
	}
	bw.WriteString("<section>\n<h2>Environment</h2>\n")
	htmlTable(bw, envTable(r.Env))
	bw.WriteString("</section>\n")
	if len(r.Metrics) > 0 {
		bw.WriteString("<section>\n<h2>Headline metrics</h2>\n")
		htmlTable(bw, metricsTable(r.Metrics))
		bw.WriteString("</section>\n")
	}
	bw.WriteString("</body>\n</html>\n")
	return bw.Flush()
}

func htmlSection(w *bufio.Writer, s Section) error {
	fmt.Fprintf(w, "<section>\n<h2>%s</h2>\n", esc(s.Title))
	for _, p := range s.Paragraphs {
		fmt.Fprintf(w, "<p>%s</p>\n", esc(p))
	}
	if s.Preformatted != "" {
		fmt.Fprintf(w, "<pre>%s</pre>\n", esc(strings.TrimRight(s.Preformatted, "\n")))
	}
	for _, t := range s.Tables {
		if t.Title != "" {
			fmt.Fprintf(w, "<h3>%s</h3>\n", esc(t.Title))
		}
		htmlTable(w, t)
	}
	for _, c := range s.Charts {
		var buf bytes.Buffer
		if err := c.WriteSVG(&buf); err != nil {
			return fmt.Errorf("chart %q: %w", c.ChartTitle(), err)
		}
		w.WriteString("<figure>\n")
		w.Write(buf.Bytes())
		w.WriteString("</figure>\n")
	}
	w.WriteString("</section>\n")
	return nil
}

func htmlTable(w *bufio.Writer, t Table) {
	if len(t.Columns) == 0 {
		return
	}
	numeric := make([]bool, len(t.Columns))
	w.WriteString("<table>\n<thead><tr>")
	for i, c := range t.Columns {
		numeric[i] = columnIsNumeric(t, i)
		fmt.Fprintf(w, "<th>%s</th>", esc(c))
	}
	w.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range t.Rows {
		w.WriteString("<tr>")
		for i := range t.Columns {
			cell := ""
			if i < len(row) {
				cell = row[i]
			}
			if numeric[i] {
				fmt.Fprintf(w, "<td class=\"num\">%s</td>", esc(cell))
			} else {
				fmt.Fprintf(w, "<td>%s</td>", esc(cell))
			}
		}
		w.WriteString("</tr>\n")
	}
	w.WriteString("</tbody>\n</table>\n")
}
