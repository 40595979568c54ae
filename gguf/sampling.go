package gguf

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// SamplingDefaults are the sampler settings a model's publisher
// recommends, from its general.sampling.* keys (llama.cpp's, which
// convert_hf_to_gguf.py fills from generation_config.json): each nil
// where the file says nothing.
type SamplingDefaults struct {
	Temp, TopP, MinP            *float32
	PenaltyRepeat               *float32
	PenaltyFreq, PenaltyPresent *float32
	TopK, PenaltyLastN          *int
	Unused                      []string // keys of samplers Nuri lacks (XTC, Mirostat, the sampler sequence)
	Invalid                     []string // keys whose value has the wrong type or lies out of range, with why
}

// samplingPrefix starts every recommended-sampler key.
const samplingPrefix = "general.sampling."

// SamplingDefaults reads the file's recommended sampler settings. A value
// of the wrong type or out of its sampler's range is reported in Invalid
// and left out, so one bad key does not keep a model from loading.
func (f *File) SamplingDefaults() SamplingDefaults {
	var d SamplingDefaults
	float := func(name string, lo, hi float64, loOpen bool) *float32 {
		v, ok := f.Get(samplingPrefix + name)
		if !ok {
			return nil
		}
		x, isFloat := v.AsFloat64()
		if !isFloat {
			n, isInt := v.AsInt64()
			if !isInt {
				d.Invalid = append(d.Invalid, fmt.Sprintf("%s%s: a %v, want a number", samplingPrefix, name, v.Type()))
				return nil
			}
			x = float64(n)
		}
		if math.IsNaN(x) || x < lo || x > hi || (loOpen && x == lo) {
			d.Invalid = append(d.Invalid, fmt.Sprintf("%s%s: %g is out of range", samplingPrefix, name, x))
			return nil
		}
		y := float32(x)
		return &y
	}
	integer := func(name string, lo int64) *int {
		v, ok := f.Get(samplingPrefix + name)
		if !ok {
			return nil
		}
		n, isInt := v.AsInt64()
		if !isInt || n < lo || n > math.MaxInt32 {
			d.Invalid = append(d.Invalid, fmt.Sprintf("%s%s: %v, want an integer ≥ %d", samplingPrefix, name, v, lo))
			return nil
		}
		i := int(n)
		return &i
	}
	d.Temp = float("temp", 0, 100, false)
	d.TopP = float("top_p", 0, 1, false)
	d.MinP = float("min_p", 0, 1, false)
	d.PenaltyRepeat = float("penalty_repeat", 0, 100, true)
	d.PenaltyFreq = float("penalty_freq", -2, 2, false)
	d.PenaltyPresent = float("penalty_present", -2, 2, false)
	d.TopK = integer("top_k", 0)
	d.PenaltyLastN = integer("penalty_last_n", -1)
	known := map[string]bool{"temp": true, "top_p": true, "min_p": true, "penalty_repeat": true,
		"penalty_freq": true, "penalty_present": true, "top_k": true, "penalty_last_n": true}
	for _, kv := range f.KV {
		if name, ok := strings.CutPrefix(kv.Key, samplingPrefix); ok && !known[name] {
			d.Unused = append(d.Unused, kv.Key)
		}
	}
	sort.Strings(d.Unused)
	return d
}

// Any reports whether the file recommends any setting Nuri applies.
func (d SamplingDefaults) Any() bool {
	return d.Temp != nil || d.TopP != nil || d.MinP != nil || d.PenaltyRepeat != nil ||
		d.PenaltyFreq != nil || d.PenaltyPresent != nil || d.TopK != nil || d.PenaltyLastN != nil
}
