package bench

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteMarkdown renders the report as GitHub-flavoured Markdown: the
// environment, every section's text and tables, and the headline metrics.
// Charts exist only in report.html; the Markdown says so where they belong.
func WriteMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n", mdText(r.Title))
	if r.Label != "" {
		fmt.Fprintf(bw, "Run: **%s**  \n", mdText(r.Label))
	}
	fmt.Fprintf(bw, "Kind: `%s` · created %s\n\n", r.Kind, r.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(bw, "## Environment\n\n")
	mdTable(bw, envTable(r.Env))
	for _, s := range r.Sections {
		fmt.Fprintf(bw, "## %s\n\n", mdText(s.Title))
		for _, p := range s.Paragraphs {
			fmt.Fprintf(bw, "%s\n\n", mdText(p))
		}
		if s.Preformatted != "" {
			fmt.Fprintf(bw, "```text\n%s\n```\n\n", strings.TrimRight(s.Preformatted, "\n"))
		}
		for _, t := range s.Tables {
			if t.Title != "" {
				fmt.Fprintf(bw, "### %s\n\n", mdText(t.Title))
			}
			mdTable(bw, t)
		}
		if len(s.Charts) > 0 {
			titles := make([]string, len(s.Charts))
			for i, c := range s.Charts {
				titles[i] = c.ChartTitle()
			}
			fmt.Fprintf(bw, "Charts in %s: %s.\n\n", HTMLFile, mdText(strings.Join(titles, "; ")))
		}
	}
	if len(r.Metrics) > 0 {
		fmt.Fprintf(bw, "## Headline metrics\n\n")
		mdTable(bw, metricsTable(r.Metrics))
	}
	return bw.Flush()
}

func mdTable(w *bufio.Writer, t Table) {
	if len(t.Columns) == 0 {
		return
	}
	w.WriteString("|")
	for _, c := range t.Columns {
		fmt.Fprintf(w, " %s |", mdCell(c))
	}
	w.WriteString("\n|")
	for i := range t.Columns {
		if columnIsNumeric(t, i) {
			w.WriteString("---:|")
		} else {
			w.WriteString("---|")
		}
	}
	w.WriteString("\n")
	for _, row := range t.Rows {
		w.WriteString("|")
		for i := range t.Columns {
			cell := ""
			if i < len(row) {
				cell = row[i]
			}
			fmt.Fprintf(w, " %s |", mdCell(cell))
		}
		w.WriteString("\n")
	}
	w.WriteString("\n")
}

// mdCell keeps a cell on one line and its pipes from splitting the table.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdText keeps free text from turning into Markdown markup by accident.
func mdText(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// columnIsNumeric reports whether every non-empty cell of column i is a
// number (optionally with a unit suffix such as "%" or "x").
func columnIsNumeric(t Table, i int) bool {
	seen := false
	for _, row := range t.Rows {
		if i >= len(row) || row[i] == "" || row[i] == "-" {
			continue
		}
		if !isNumber(row[i]) {
			return false
		}
		seen = true
	}
	return seen
}

func isNumber(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "%"), "x")
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// envTable is the environment as a two-column table, shared by both renderings.
func envTable(e Environment) Table {
	t := Table{Columns: []string{"fact", "value"}}
	add := func(k, v string) {
		if v != "" {
			t.Rows = append(t.Rows, []string{k, v})
		}
	}
	add("command", strings.Join(e.CommandLine, " "))
	add("timestamp", e.Timestamp.UTC().Format(time.RFC3339))
	add("CPU", e.CPUModel)
	cores := fmt.Sprintf("%d logical", e.LogicalCPUs)
	if e.PhysicalCores > 0 {
		cores += fmt.Sprintf(", %d physical", e.PhysicalCores)
	}
	add("cores", cores+fmt.Sprintf(", GOMAXPROCS %d", e.GOMAXPROCS))
	if e.MemTotalBytes > 0 {
		add("memory", fmt.Sprintf("%.1f GiB", float64(e.MemTotalBytes)/(1<<30)))
	}
	add("OS/arch", e.OS+"/"+e.Arch)
	add("Go", e.GoVersion)
	add("host", e.Hostname)
	commit := e.Commit
	if commit == "" {
		commit = "unknown"
	} else if e.Modified {
		commit += " (modified)"
	}
	add("commit", commit)
	if s := e.Server; s != nil {
		add("server", s.BaseURL)
		add("server models", strings.Join(s.ModelIDs, ", "))
		add("server models error", s.ModelsError)
	}
	return t
}

func metricsTable(ms []Metric) Table {
	t := Table{Columns: []string{"group", "metric", "value", "unit", "better"}}
	for _, m := range ms {
		t.Rows = append(t.Rows, []string{m.Group, m.Name, formatFigure(m.Value), m.Unit, string(m.Better)})
	}
	return t
}

// formatFigure prints a metric with precision that suits its magnitude.
func formatFigure(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
