package sample

import (
	"slices"
	"testing"
)

// TestFormatFinishBounds explores each format's automaton over printable
// ASCII, every state a text can reach, and finds the most characters a
// reachable state needs to become whole. A format's declared finish bound
// must not be below it: roomToFinish trusts the bound to keep a string
// under maxLength from ending in a text it cannot finish.
func TestFormatFinishBounds(t *testing.T) {
	names := make([]string, 0, len(stringFormats))
	for name := range stringFormats {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sf := stringFormats[name]
		g, err := CompileRegex(sf.re)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := newStringDFA(g)
		// Forward: every reachable state and its edges.
		edges := [][]int32{nil}
		for i := 0; i < len(edges); i++ {
			if len(edges) > 50000 {
				t.Fatalf("%s: over 50000 states", name)
			}
			for c := byte(0x20); c < 0x7f; c++ {
				to := d.step(int32(i), c)
				if to < 0 {
					continue
				}
				edges[i] = append(edges[i], to)
				for int(to) >= len(edges) {
					edges = append(edges, nil)
				}
			}
		}
		// Backward from the accepting states: each state's distance.
		n := len(edges)
		rev := make([][]int32, n)
		for from, tos := range edges {
			for _, to := range tos {
				rev[to] = append(rev[to], int32(from))
			}
		}
		dist := make([]int, n)
		var queue []int32
		for s := range n {
			dist[s] = -1
			if d.accepts(int32(s)) {
				dist[s] = 0
				queue = append(queue, int32(s))
			}
		}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, p := range rev[s] {
				if dist[p] < 0 {
					dist[p] = dist[s] + 1
					queue = append(queue, p)
				}
			}
		}
		most := 0
		for s := 1; s < n; s++ { // state 0 is the empty text, before any character
			if dist[s] < 0 {
				t.Errorf("%s: a reachable state cannot finish", name)
			}
			most = max(most, dist[s])
		}
		t.Logf("%-9s %5d states; a written prefix needs at most %d more characters (declared %d)", name, n, most, sf.finish)
		if sf.finish < most {
			t.Errorf("%s: finish %d, but a prefix needs %d", name, sf.finish, most)
		}
	}
}
