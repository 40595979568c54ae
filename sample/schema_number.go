package sample

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Bounded numbers (minimum, maximum and their exclusive forms on
// "type": "number", pydantic's Field(ge=0.0, le=1.0)) are written in
// plain decimal, no exponent, with at most maxNumberDigits digits in all,
// and every byte is refused that leaves no such number within the bounds
// to finish: the model never writes itself into a number it cannot end.
// Values are held exactly, as decimals scaled by 10^numberScale in 128
// bits.
//
// Validators read numbers as float64 (Ajv, pydantic, Python's
// jsonschema), which rounds: 0.500000000000000004 is 0.5 there, and fails
// exclusiveMinimum 0.5 though it is above it. Decimals of at most 15
// significant digits are told apart by float64 (each converts to a
// double that converts back to it), so the numbers written and the
// bounds keep to 15: a number within the bounds exactly is within them
// as the validators read it too (rounding keeps the order, and no number
// rounds to an exclusive bound).

// maxNumberDigits is the most digits (integer and fraction, a lone
// leading 0 not counted) a bounded number may have, and the most
// significant digits of its bounds.
const maxNumberDigits = 15

// numberScale is the scale of the exact values: bounds may have as many
// digits after the point.
const numberScale = 18

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) sub(b u128) u128 { // a ≥ b
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return u128{hi, lo}
}

// mul64 is a·m; the values here stay below 10^37, far from overflow.
func (a u128) mul64(m uint64) u128 {
	hi, lo := bits.Mul64(a.lo, m)
	return u128{a.hi*m + hi, lo}
}

// divmod64 is a / d and a mod d.
func (a u128) divmod64(d uint64) (u128, uint64) {
	qhi, r := a.hi/d, a.hi%d
	qlo, r := bits.Div64(r, a.lo, d)
	return u128{qhi, qlo}, r
}

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

// pow10 are 10^0 … 10^19 (10^19 still fits 64 bits).
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// scaled is m·10^(numberScale−frac): a decimal of mantissa m and frac
// digits after the point, scaled.
func scaled(m uint64, frac int) u128 {
	return u128{0, m}.mul64(pow10[numberScale-frac])
}

// numberBounds are a number's bounds, scaled, and its multipleOfs.
type numberBounds struct {
	hasLo, hasHi   bool
	loNeg, hiNeg   bool // the bound's sign
	lo, hi         u128 // magnitudes
	loExcl, hiExcl bool
	// step is the least common multiple of the multipleOfs, scaled (nil:
	// none), and mults each one as validators read it (float64), by which
	// the value's float64 must divide to a whole number (multiples.go's
	// comment says why).
	step  *big.Int
	mults []float64
}

// parseBound reads a bound (a JSON number) as a sign and a scaled
// magnitude; ok is false when it is not exactly such a decimal below
// 10^numberScale with at most numberScale digits after the point and
// maxNumberDigits significant ones.
func parseBound(num json.Number) (neg bool, mag u128, ok bool) {
	s := string(num)
	neg = strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -9999 || e > 9999 {
			return false, u128{}, false
		}
		exp, s = e, s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(intPart) - (len(intPart+frac) - len(digits)) + exp // digits before the point
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return false, u128{}, true // -0 is 0
	}
	// digits · 10^(point − len(digits)), scaled.
	shift := numberScale + point - len(digits)
	if point > numberScale || shift < 0 || len(digits) > maxNumberDigits {
		return false, u128{}, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false, u128{}, false
		}
		mag = mag.mul64(10).add(u128{0, uint64(c - '0')})
	}
	for ; shift > 0; shift-- {
		mag = mag.mul64(10)
	}
	return neg && !mag.isZero(), mag, true
}

// lessSigned compares the signed values (an, a) and (bn, b).
func lessSigned(an bool, a u128, bn bool, b u128) int {
	if a.isZero() && b.isZero() {
		return 0
	}
	switch {
	case an && !bn:
		return -1
	case !an && bn:
		return 1
	case an:
		return -a.cmp(b)
	}
	return a.cmp(b)
}

// magnitudeRange is the range of magnitudes a number of the given sign
// may take under b: [lo, hi] with exclusive ends as flagged, hi absent
// when unbounded; empty when none.
type magnitudeRange struct {
	lo, hi         u128
	loExcl, hiExcl bool
	hasHi, empty   bool
}

func (b *numberBounds) magnitudes(neg bool) magnitudeRange {
	var r magnitudeRange
	if !neg {
		// value = m ≥ 0: the lower bound holds where it is negative.
		if b.hasLo && !b.loNeg {
			r.lo, r.loExcl = b.lo, b.loExcl
		}
		if b.hasHi {
			r.empty = b.hiNeg // a negative upper bound
			r.hi, r.hiExcl, r.hasHi = b.hi, b.hiExcl, true
		}
		return r
	}
	// value = −m: m ∈ [−hi, −lo].
	if b.hasHi && b.hiNeg {
		r.lo, r.loExcl = b.hi, b.hiExcl
	}
	if b.hasLo {
		// A positive lower bound leaves no negative number; at 0 only
		// -0, where it is inclusive.
		r.empty = !b.loNeg && !b.lo.isZero()
		r.hi, r.hiExcl, r.hasHi = b.lo, b.loExcl, true
	}
	return r
}

// gridMeets says whether some point a + t·s < end (t ≥ 0) lies in r.
func (r *magnitudeRange) gridMeets(a, end u128, s uint64) bool {
	x := a
	switch c := r.lo.cmp(a); {
	case c > 0:
		q, rem := r.lo.sub(a).divmod64(s)
		if rem != 0 || r.loExcl {
			q = q.add(u128{0, 1})
		}
		x = a.add(q.mul64(s))
	case c == 0 && r.loExcl:
		x = a.add(u128{0, s})
	}
	if x.cmp(end) >= 0 {
		return false
	}
	if r.hasHi {
		c := x.cmp(r.hi)
		return c < 0 || c == 0 && !r.hiExcl
	}
	return true
}

// numberViable says whether a bounded number whose text so far is f's
// (sign, mantissa f.num of f.count digits, f.frac digits after the point
// or −1 before it) can still end within the bounds with at most
// maxNumberDigits digits.
func (b *numberBounds) numberViable(f *schemaFrame, unique bool) bool {
	var seen *seenList // a unique item's: the values written before it
	if unique {
		seen = f.seen
	}
	r := b.magnitudes(f.neg)
	if r.empty {
		return false
	}
	left := maxNumberDigits - digitsUsed(f) // digits still to come
	switch {
	case f.frac >= 0: // after the point: [P, P + 10^-frac) to 10^-(frac+left)
		if left == 0 && f.frac == 0 {
			return false // a point needs a digit after it
		}
		a := scaled(f.num, int(f.frac))
		end := a.add(u128{0, pow10[numberScale-int(f.frac)]})
		return b.meets(&r, f.neg, a, end, pow10[numberScale-int(f.frac)-left], seen)
	case f.count == 0: // only the sign: k integer digits, 10^(k−1) … 10^k, to 10^-(max−k)
		for k := 1; k <= maxNumberDigits; k++ {
			a := u128{}
			if k > 1 {
				a = scaled(pow10[k-1], 0)
			}
			if b.meets(&r, f.neg, a, scaled(pow10[k], 0), pow10[numberScale-maxNumberDigits+k], seen) {
				return true
			}
		}
		return false
	case f.num == 0: // "0": the integer part is whole
		return b.meets(&r, f.neg, u128{}, scaled(1, 0), pow10[numberScale-left], seen)
	}
	// j more integer digits: [v·10^j, (v+1)·10^j) to 10^-(left−j).
	for j := 0; j <= left; j++ {
		a := scaled(f.num, 0).mul64(pow10[j])
		end := scaled(f.num+1, 0).mul64(pow10[j])
		if b.meets(&r, f.neg, a, end, pow10[numberScale-(left-j)], seen) {
			return true
		}
	}
	return false
}

// digitsUsed is how many of maxNumberDigits f's number has written: its
// digits, less an integer part that is a lone 0.
func digitsUsed(f *schemaFrame) int {
	n := int(f.count)
	switch {
	case f.frac < 0 && n == 1 && f.num == 0:
		return 0
	case f.frac >= 0 && n-int(f.frac) == 1 && f.num < pow10[f.frac]:
		return n - 1
	}
	return n
}

// numberWithin says whether the whole number f holds is within b (and a
// multiple of its multipleOfs).
func (b *numberBounds) numberWithin(f *schemaFrame) bool {
	frac := max(int(f.frac), 0)
	v := scaled(f.num, frac)
	if b.step != nil && !b.multiple(f.neg, v.big()) {
		return false
	}
	if b.hasLo {
		c := lessSigned(f.neg, v, b.loNeg, b.lo)
		if c < 0 || c == 0 && b.loExcl {
			return false
		}
	}
	if b.hasHi {
		c := lessSigned(f.neg, v, b.hiNeg, b.hi)
		if c > 0 || c == 0 && b.hiExcl {
			return false
		}
	}
	return true
}

// numberByte moves a bounded number's value past c, refusing c where no
// number it can still become is within the bounds; the caller restores
// the frame where the syntax then refuses c.
func (b *numberBounds) numberByte(f *schemaFrame, c byte, unique bool) bool {
	switch {
	case c == '-':
		f.neg = true
	case c == '.':
		if f.frac >= 0 {
			return false
		}
		f.frac = 0
	case c == 'e' || c == 'E':
		return false // plain decimals only
	case isDigit(c):
		if digitsUsed(f) >= maxNumberDigits {
			return false
		}
		f.num = f.num*10 + uint64(c-'0')
		f.count++
		if f.frac >= 0 {
			f.frac++
		}
	default:
		return true // the number's syntax decides
	}
	return b.numberViable(f, unique)
}

// Numbers under multipleOf (pydantic's confloat(multiple_of=0.01), a
// price in cents). Validators test it in float64: Ajv's and Python's
// jsonschema divide (0.07 / 0.01 is 7.000000000000001: no multiple),
// pydantic measures the distance to the nearest multiple. A number is
// written only where the division is a whole number and that distance
// within pydantic's tolerance, which every one of them then passes, and
// where it is an exact decimal multiple (as validators of decimals test
// it), in plain decimal like bounded numbers. Those
// numbers are irregular (0.07 is out, 0.08 in: two thirds to seven
// eighths of the multiples of 0.01, 0.1 or 0.001 pass), so a digit is
// taken only where a number it can still become passes: the first
// maxMultipleTries multiples of the grid of numbers it can become are
// tried in order, a search that finds the same witness from each digit
// of it on.

// maxMultipleTries is how many multiples a digit's search tries. With
// two thirds of them passing, all failing is 3^-64 unlikely.
const maxMultipleTries = 64

// maxMultipleQuotient keeps a number's quotient by its multipleOf below
// 2^53, where float64 holds every whole number (Ajv's parseInt of a
// larger one reads its exponent form).
const maxMultipleQuotient = 1 << 53

func (a u128) big() *big.Int {
	x := new(big.Int).SetUint64(a.hi)
	x.Lsh(x, 64)
	return x.Or(x, new(big.Int).SetUint64(a.lo))
}

// setMultiples reads multipleOf (a number, or several merged: each must
// hold) into b.
func (b *numberBounds) setMultiples(v any) error {
	list, ok := v.(multipleList)
	if !ok {
		num, isNum := v.(json.Number)
		if !isNum {
			return fmt.Errorf("must be a number")
		}
		list = multipleList{num}
	}
	step := big.NewInt(1)
	for _, num := range list {
		neg, m, exact := parseBound(num)
		f, err := strconv.ParseFloat(string(num), 64)
		if !exact || neg || m.isZero() || err != nil {
			return fmt.Errorf("%s must be a positive decimal below 10^%d with at most %d digits after the point and %d significant ones", num, numberScale, numberScale, maxNumberDigits)
		}
		x := m.big()
		g := new(big.Int).GCD(nil, nil, step, x)
		step.Mul(step, x.Div(x, g))
		b.mults = append(b.mults, f)
	}
	if step.Cmp(scaled(pow10[maxNumberDigits], 0).big()) >= 0 {
		return fmt.Errorf("%v: their least common multiple is above 10^%d", list, maxNumberDigits)
	}
	b.step = step
	return nil
}

// meets says whether some point a + t·s < end (t ≥ 0) is a number within
// r, under multipleOf a multiple too, and of a unique item (seen: the
// values written before it) one not written before (search).
func (b *numberBounds) meets(r *magnitudeRange, neg bool, a, end u128, s uint64, seen *seenList) bool {
	if b.step == nil && seen == nil {
		return r.gridMeets(a, end, s)
	}
	return b.search(r, neg, a, end, s, seen)
}

// search is meets point by point: of the points that are multiples of
// the step too, the first within r's lower end are tried, maxMultipleTries
// and one more for each value written before (which rules out one).
func (b *numberBounds) search(r *magnitudeRange, neg bool, a, end u128, s uint64, seen *seenList) bool {
	l := new(big.Int).SetUint64(s)
	if b.step != nil {
		g := new(big.Int).GCD(nil, nil, b.step, l)
		l.Mul(l.Div(l, g), b.step) // lcm(step, s): the points on both grids
	}
	tries := maxMultipleTries
	for e := seen; e != nil; e = e.next {
		tries++
	}
	lower := a
	switch c := r.lo.cmp(a); {
	case c > 0:
		lower = r.lo
		if r.loExcl {
			lower = lower.add(u128{0, 1})
		}
	case c == 0 && r.loExcl:
		lower = a.add(u128{0, 1})
	}
	x := lower.big()
	x.Add(x, new(big.Int).Sub(l, big.NewInt(1)))
	x.Div(x, l).Mul(x, l) // the first multiple at or above lower
	e := end.big()
	var hi *big.Int
	if r.hasHi {
		hi = r.hi.big()
	}
	for range tries {
		if x.Cmp(e) >= 0 {
			return false
		}
		if hi != nil {
			if c := x.Cmp(hi); c > 0 || c == 0 && r.hiExcl {
				return false
			}
		}
		if (b.step == nil || b.floatMultiple(neg, x)) && (seen == nil || !seen.has(scaledKey(neg, x))) {
			return true
		}
		x.Add(x, l)
	}
	return false
}

// numberKey is what a unique number item is remembered by: its value,
// exactly (1, 1.0 and 1.00 are one, as validators count them; so are 0
// and -0), packed as its digits less trailing zeros (below 10^15: 50
// bits), how many of them follow the point, and its sign.
func numberKey(neg bool, num uint64, frac int) uint64 {
	for frac > 0 && num%10 == 0 {
		num, frac = num/10, frac-1
	}
	if num == 0 {
		return 0
	}
	k := num | uint64(frac)<<50
	if neg {
		k |= 1 << 56
	}
	return k
}

// scaledKey is numberKey of the number of magnitude x (scaled), or
// MaxUint64 where it has more digits than a number written (none is it).
func scaledKey(neg bool, x *big.Int) uint64 {
	num, frac := new(big.Int).Set(x), numberScale
	ten, r := big.NewInt(10), new(big.Int)
	for frac > 0 {
		q, m := new(big.Int).QuoRem(num, ten, r)
		if m.Sign() != 0 {
			break
		}
		num, frac = q, frac-1
	}
	if !num.IsUint64() || num.Uint64() >= pow10[maxNumberDigits] {
		return math.MaxUint64
	}
	return numberKey(neg, num.Uint64(), frac)
}

// maxDistinctCounted is how many numbers distinct enumerates.
const maxDistinctCounted = 4096

// distinct is how many numbers b leaves (for unique items: minItems must
// not exceed it), or -1 for more than maxDistinctCounted: under bounds
// and a multipleOf they are enumerated; under bounds alone, a range of
// one value.
func (b *numberBounds) distinct() int64 {
	if !b.hasLo || !b.hasHi {
		return -1
	}
	signed := func(neg bool, m u128) *big.Int {
		x := m.big()
		if neg {
			x.Neg(x)
		}
		return x
	}
	lo, hi := signed(b.loNeg, b.lo), signed(b.hiNeg, b.hi)
	if b.step == nil {
		if lo.Cmp(hi) == 0 && !b.loExcl && !b.hiExcl {
			return 1
		}
		return -1
	}
	// The multiples k·step in [lo, hi].
	k := new(big.Int).Div(lo, b.step) // floor
	if new(big.Int).Mul(k, b.step).Cmp(lo) < 0 || b.loExcl && new(big.Int).Mul(k, b.step).Cmp(lo) == 0 {
		k.Add(k, big.NewInt(1))
	}
	var n int64
	for range maxDistinctCounted + 1 {
		x := new(big.Int).Mul(k, b.step)
		if c := x.Cmp(hi); c > 0 || c == 0 && b.hiExcl {
			return n
		}
		neg := x.Sign() < 0
		if b.floatMultiple(neg, x.Abs(x)) && scaledKey(neg, x) != math.MaxUint64 {
			n++
		}
		k.Add(k, big.NewInt(1))
	}
	return -1
}

// multiple says whether the number of magnitude x (scaled) is a multiple
// of each multipleOf, exactly and as validators test it.
func (b *numberBounds) multiple(neg bool, x *big.Int) bool {
	return new(big.Int).Mod(x, b.step).Sign() == 0 && b.floatMultiple(neg, x)
}

// floatMultiple says whether the number of magnitude x (scaled), read as
// a float64, divides by each multipleOf to a whole number.
func (b *numberBounds) floatMultiple(neg bool, x *big.Int) bool {
	q, r := new(big.Int).QuoRem(x, new(big.Int).SetUint64(pow10[numberScale]), new(big.Int))
	text := q.String() + "." + fmt.Sprintf("%0*s", numberScale, r.String())
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return false
	}
	if neg {
		v = -v
	}
	for _, m := range b.mults {
		d := v / m
		// float64(d*m): the product rounded, as pydantic computes it
		// (arm64 would fuse it into the subtraction).
		if d != math.Trunc(d) || math.Abs(d) >= maxMultipleQuotient || math.Abs(v-float64(d*m)) > pydanticMultipleTolerance {
			return false
		}
	}
	return true
}

// pydanticMultipleTolerance is how far pydantic (pydantic-core 2.46)
// lets a float be from the multiple nearest it, |v − round(v/m)·m| in
// float64: past a few million the product's rounding alone exceeds it,
// so large numbers pass less often.
const pydanticMultipleTolerance = 1e-9
