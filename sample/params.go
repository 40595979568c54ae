package sample

// Params are the sampling settings of one request. The zero value is not
// the default: use DefaultParams (llama.cpp's defaults, MODEL_SPEC.md §6).
type Params struct {
	Temperature      float32 // <= 0: greedy
	TopK             int     // <= 0: off
	TopP             float32 // >= 1: off
	MinP             float32 // <= 0: off
	RepeatPenalty    float32 // 1: off
	PresencePenalty  float32
	FrequencyPenalty float32
	PenaltyLastN     int // how many recent tokens penalties look at; -1: whole context
	LogitBias        map[int32]float32
	Seed             uint64
	HasSeed          bool // false: seed from a random source
}

// DefaultParams returns llama.cpp's default sampling settings.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		PenaltyLastN:  64,
	}
}
