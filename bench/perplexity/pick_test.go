package perplexity

import (
	"slices"
	"testing"
)

// The Mersenne Twister against the values the C++ standard and its
// reference give: std::mt19937's 10000th output from the default seed, and
// the first two from seed 1.
func TestMT19937(t *testing.T) {
	m := newMT19937(5489)
	var v uint32
	for range 10000 {
		v = m.next()
	}
	if v != 4123659995 {
		t.Errorf("10000th output from 5489: %d, want 4123659995", v)
	}
	m = newMT19937(1)
	if a, b := m.next(), m.next(); a != 1791095845 || b != 4282876139 {
		t.Errorf("seed 1: %d %d", a, b)
	}
}

// The draws, against a C++ program built here with g++ 12 and libstdc++
// (std::mt19937 rng(1), std::uniform_int_distribution<size_t> over the
// tasks left for HellaSwag; the float32 scaling for Winogrande and
// multiple choice), as llama-perplexity makes them.
func TestTaskOrders(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []int
		want []int
	}{
		{"hellaswag of 50", HellaSwagOrder(50, 12), []int{20, 49, 35, 45, 0, 6, 15, 48, 8, 12, 4, 22}},
		{"hellaswag of 10042", HellaSwagOrder(10042, 12), []int{4187, 10013, 7233, 9363, 1, 1286, 3036, 10032, 1474, 2371, 927, 3984}},
		{"sample of 50", SampleOrder(50, 12), []int{20, 48, 34, 43, 0, 5, 13, 42, 6, 9, 3, 15}},
		{"sample of 1267", SampleOrder(1267, 12), []int{528, 1262, 911, 1178, 0, 161, 381, 1258, 184, 296, 116, 498}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Longer runs, as the C++ program's hash of the whole order (h = h *
	// 1000003 + task, in uint64): 400 of 10042, all of 7 and of 3 for
	// HellaSwag, 1000 of 1267 for the sample.
	hash := func(order []int) uint64 {
		var h uint64
		for _, i := range order {
			h = h*1000003 + uint64(i)
		}
		return h
	}
	for _, tc := range []struct {
		name string
		got  uint64
		want uint64
	}{
		{"hellaswag 400 of 10042", hash(HellaSwagOrder(10042, 400)), 10437151991330087155},
		{"hellaswag all of 7", hash(HellaSwagOrder(7, 7)), 3560928207800956853},
		{"hellaswag all of 3", hash(HellaSwagOrder(3, 3)), 1000008000015},
		{"sample 1000 of 1267", hash(SampleOrder(1267, 1000)), 15549960351436904831},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: hash %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	// Every task once, whatever the count.
	for _, order := range [][]int{HellaSwagOrder(97, 97), SampleOrder(97, 96)} {
		seen := map[int]bool{}
		for _, i := range order {
			if i < 0 || i >= 97 || seen[i] {
				t.Fatalf("order %v repeats or leaves the range", order)
			}
			seen[i] = true
		}
	}
}
