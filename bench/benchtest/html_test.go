package benchtest

import (
	"strings"
	"testing"
)

func TestCheckHTML(t *testing.T) {
	good := `<!DOCTYPE html>
<html><head><meta charset="utf-8"/><title>t</title><style>a { color: red; }</style></head>
<body><p>x &amp; y</p><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect x="0" y="0" width="1" height="1"/></svg></body></html>`
	info, err := CheckHTML([]byte(good))
	if err != nil || info.Elements["svg"] != 1 || info.Elements["rect"] != 1 || !strings.Contains(info.Text, "x & y") {
		t.Fatalf("good document: %+v, %v", info, err)
	}
	bad := map[string]string{
		"no doctype":      `<html><head><title>t</title></head><body></body></html>`,
		"unclosed":        `<!DOCTYPE html><html><head><title>t</title></head><body><p>x</body></html>`,
		"misnested":       `<!DOCTYPE html><html><head><title>t</title></head><body><b><i>x</b></i></body></html>`,
		"script":          `<!DOCTYPE html><html><head><title>t</title></head><body><script>1</script></body></html>`,
		"external image":  `<!DOCTYPE html><html><head><title>t</title></head><body><svg><image href="http://x/y.png"/></svg></body></html>`,
		"no body":         `<!DOCTYPE html><html><head><title>t</title></head></html>`,
		"wrong root":      `<!DOCTYPE html><div><head><title>t</title></head><body></body></div>`,
		"stray ampersand": `<!DOCTYPE html><html><head><title>t</title></head><body>a & b</body></html>`,
		"truncated":       `<!DOCTYPE html><html><head><title>t</title></head><body>`,
	}
	for name, doc := range bad {
		if _, err := CheckHTML([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
