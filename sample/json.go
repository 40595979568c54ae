package sample

// jsonState is a byte-level JSON recognizer (RFC 8259) small enough to copy
// by value, so checking a token is running its bytes on a copy. Nesting is
// a bit stack (1 = object), which bounds depth at maxJSONDepth; a run of
// whitespace is bounded too, so a model cannot pad forever.
type jsonState struct {
	mode  uint8
	depth uint8
	ws    uint8  // whitespace bytes in the current run
	nl    uint8  // line breaks in the current run
	aux   uint8  // literal: which one and how far; \u escape: hex digits left; string: utf8Next's state; number: digits in the current part
	stack uint64 // bit i: level i+1 is an object
	// objectTop: the top-level value must be an object (json_object).
	objectTop bool
	// tight: no whitespace before the value, and runs of at most
	// maxTightSpace bytes with maxTightLines line breaks; off, the
	// recognizer is RFC 8259's.
	tight bool
	// compact: no whitespace at all until the top-level value is whole
	// (vLLM's disable_any_whitespace): the compact JSON of OpenAI's
	// outputs, and no tokens a small model could spend on padding.
	compact bool
	// longDigits: a bounded integer's digits are held by its bounds
	// (18 at most), not by maxTightDigits.
	longDigits bool
}

const (
	maxJSONDepth = 64
	maxJSONSpace = 64
	// A model's whitespace run (tight): one line break and an indent, as
	// llama.cpp's JSON grammar allows ("\n" and up to 20 blanks). More
	// lets a small model spend its tokens on padding.
	maxTightSpace = 24
	maxTightLines = 1
	// A model's number (tight): at most 16 digits in its integer part,
	// its fraction and its exponent each, as llama.cpp's JSON grammar
	// allows; more is no number a reader keeps exactly, and a small model
	// can run on digits until it runs out of tokens.
	maxTightDigits = 16
	// An exponent (tight) has at most two digits: a number of 16 digits
	// times 10^±99 stays a finite float64 (up to about 1e115), which
	// readers that parse JSON numbers as doubles (Python's json, for
	// pydantic's Decimal and float; JavaScript) keep; 1e999 reads as
	// infinity, which pydantic's Decimal refuses.
	maxTightExpDigits = 2
)

// Modes. "Value" modes expect a value; "after" modes follow one.
const (
	jValue      uint8 = iota // a value (after ':' , '[' ',' or at the top)
	jArrayFirst              // after '[': a value or ']'
	jObjectKey               // after '{': a key or '}'
	jKey                     // after ',' in an object: a key
	jColon                   // after a key: ':'
	jAfter                   // after a value: ',' or the closer, or done at the top
	jString                  // in a string value
	jKeyString               // in a key
	jEscape                  // after '\' in a string value
	jKeyEscape               // after '\' in a key
	jHex                     // in \uXXXX of a string value (aux digits left)
	jKeyHex                  // in \uXXXX of a key
	jMinus                   // number: after '-'
	jZero                    // number: a leading 0
	jInt                     // number: integer digits
	jDot                     // number: after '.'
	jFrac                    // number: fraction digits
	jExp                     // number: after 'e'
	jExpSign                 // number: after 'e+' or 'e-'
	jExpDigits               // number: exponent digits
	jLiteral                 // true, false or null: aux = literal<<4 | position
	jDone                    // the top-level value is complete
	jFail
)

var jsonLiterals = [3]string{"true", "false", "null"}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// feed runs the bytes of s; false when they cannot continue valid JSON.
func (j *jsonState) feed(s []byte) bool {
	for _, c := range s {
		if !j.step(c) {
			j.mode = jFail
			return false
		}
	}
	return true
}

// complete says whether the text so far is a whole JSON value. A number
// at the top level is whole only once whitespace follows it: a digit could
// still come.
func (j *jsonState) complete() bool { return j.mode == jDone }

func (j *jsonState) space(c byte) bool {
	if j.compact && j.mode != jDone {
		return false
	}
	if j.ws >= maxJSONSpace || j.tight && j.ws >= maxTightSpace {
		return false
	}
	if c == '\n' {
		if j.tight && j.nl >= maxTightLines {
			return false
		}
		j.nl++
	}
	j.ws++
	return true
}

func (j *jsonState) step(c byte) bool {
	if !isJSONSpace(c) {
		j.ws, j.nl = 0, 0
	}
	switch j.mode {
	case jValue, jArrayFirst:
		if isJSONSpace(c) {
			return !(j.tight && j.depth == 0) && j.space(c)
		}
		if j.mode == jArrayFirst && c == ']' {
			return j.close(false)
		}
		return j.value(c)
	case jObjectKey, jKey:
		switch {
		case isJSONSpace(c):
			return j.space(c)
		case c == '"':
			j.mode, j.aux = jKeyString, 0
			return true
		case c == '}' && j.mode == jObjectKey:
			return j.close(true)
		}
		return false
	case jColon:
		switch {
		case isJSONSpace(c):
			return j.space(c)
		case c == ':':
			j.mode = jValue
			return true
		}
		return false
	case jAfter:
		return j.after(c)
	case jString, jKeyString:
		if j.aux != 0 || c >= 0x80 { // a character's bytes: aux is utf8Next's state
			var ok bool
			j.aux, ok = utf8Next(j.aux, c)
			return ok
		}
		switch {
		case c == '"':
			if j.mode == jKeyString {
				j.mode = jColon
			} else {
				j.endValue()
			}
		case c == '\\':
			j.mode += jEscape - jString
		case c < 0x20:
			return false
		}
		return true
	case jEscape, jKeyEscape:
		str := j.mode - (jEscape - jString)
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j.mode = str
		case 'u':
			j.mode, j.aux = j.mode+(jHex-jEscape), 4
		default:
			return false
		}
		return true
	case jHex, jKeyHex:
		if !isHex(c) {
			return false
		}
		if j.aux--; j.aux == 0 {
			j.mode -= jHex - jString
		}
		return true
	case jMinus:
		switch {
		case c == '0':
			j.mode, j.aux = jZero, 1
		case isDigit(c):
			j.mode, j.aux = jInt, 1
		default:
			return false
		}
		return true
	case jZero, jInt:
		switch {
		case isDigit(c) && j.mode == jInt:
			return j.digit()
		case c == '.':
			j.mode, j.aux = jDot, 0
		case c == 'e' || c == 'E':
			j.mode, j.aux = jExp, 0
		default:
			return j.endNumber(c)
		}
		return true
	case jDot, jFrac:
		switch {
		case isDigit(c):
			j.mode = jFrac
			return j.digit()
		case j.mode == jFrac && (c == 'e' || c == 'E'):
			j.mode, j.aux = jExp, 0
		case j.mode == jFrac:
			return j.endNumber(c)
		default:
			return false
		}
		return true
	case jExp, jExpSign:
		switch {
		case isDigit(c):
			j.mode = jExpDigits
			return j.expDigit()
		case j.mode == jExp && (c == '+' || c == '-'):
			j.mode = jExpSign
		default:
			return false
		}
		return true
	case jExpDigits:
		if isDigit(c) {
			return j.expDigit()
		}
		return j.endNumber(c)
	case jLiteral:
		lit, pos := jsonLiterals[j.aux>>4], j.aux&15
		if c != lit[pos] {
			return false
		}
		if int(pos)+1 == len(lit) {
			j.endValue()
		} else {
			j.aux++
		}
		return true
	case jDone:
		return isJSONSpace(c) && j.space(c)
	}
	return false
}

// digit counts a digit of the current part of a number, within
// maxTightDigits when tight.
func (j *jsonState) digit() bool {
	j.aux++
	return !j.tight || j.longDigits || j.aux <= maxTightDigits
}

// expDigit counts an exponent's digit, within maxTightExpDigits when
// tight.
func (j *jsonState) expDigit() bool {
	j.aux++
	return !j.tight || j.aux <= maxTightExpDigits
}

// value starts a value with c.
func (j *jsonState) value(c byte) bool {
	if j.depth == 0 && j.objectTop && c != '{' {
		return false
	}
	switch {
	case c == '{' || c == '[':
		if j.depth >= maxJSONDepth {
			return false
		}
		if c == '{' {
			j.stack |= 1 << j.depth
			j.mode = jObjectKey
		} else {
			j.stack &^= 1 << j.depth
			j.mode = jArrayFirst
		}
		j.depth++
	case c == '"':
		j.mode, j.aux = jString, 0
	case c == '-':
		j.mode, j.aux = jMinus, 0
	case c == '0':
		j.mode, j.aux = jZero, 1
	case isDigit(c):
		j.mode, j.aux = jInt, 1
	case c == 't':
		j.mode, j.aux = jLiteral, 0<<4|1
	case c == 'f':
		j.mode, j.aux = jLiteral, 1<<4|1
	case c == 'n':
		j.mode, j.aux = jLiteral, 2<<4|1
	default:
		return false
	}
	return true
}

func (j *jsonState) inObject() bool { return j.stack&(1<<(j.depth-1)) != 0 }

// endValue moves past a finished value.
func (j *jsonState) endValue() {
	if j.depth == 0 {
		j.mode = jDone
	} else {
		j.mode = jAfter
	}
}

// endNumber ends a number at c, which must then be read after it.
func (j *jsonState) endNumber(c byte) bool {
	j.endValue()
	if j.mode == jDone {
		return isJSONSpace(c) && j.space(c)
	}
	return j.after(c)
}

func (j *jsonState) after(c byte) bool {
	switch {
	case isJSONSpace(c):
		return j.space(c)
	case c == ',':
		if j.inObject() {
			j.mode = jKey
		} else {
			j.mode = jValue
		}
		return true
	case c == '}':
		return j.inObject() && j.close(true)
	case c == ']':
		return !j.inObject() && j.close(false)
	}
	return false
}

// close ends the innermost object or array.
func (j *jsonState) close(object bool) bool {
	if j.depth == 0 || j.inObject() != object {
		return false
	}
	j.depth--
	j.endValue()
	return true
}
