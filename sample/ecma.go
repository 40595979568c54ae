package sample

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON Schema's patterns are ECMA-262 regular expressions (with the u flag,
// as validators such as Ajv compile them), and Go's RE2 syntax reads a few
// of the same characters otherwise. ecmaToRE2 rewrites those so the RE2
// parser sees what ECMA-262 means:
//
//   - \s and \S: ECMA's white space and line terminators (U+000B, U+00A0,
//     U+FEFF, the Zs spaces, U+2028, U+2029 too), where RE2 has [\t\n\f\r ];
//   - . : anything but a line terminator (\n, \r, U+2028, U+2029), where
//     RE2's stops only at \n;
//   - \uXXXX (a surrogate pair as one character), \u{X...} and \cX, which
//     RE2 lacks;
//   - [\b] (a backspace), [] (nothing) and [^] (any character), and [
//     inside a class (a plain bracket);
//   - \p{Script=Hangul}, \p{sc=…}, \p{gc=…} and the long category names
//     (\p{Letter}), which RE2 knows by their short names.
//
// Everything else passes through: \d and \w are ASCII in both, and what RE2
// refuses (lookaround, backreferences) stays refused, but for the
// lookaheads a pattern opens with, which patternTexts takes off first.
func ecmaToRE2(src string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == '\\':
			if i+1 >= len(src) {
				return "", fmt.Errorf("pattern ends in a lone backslash")
			}
			c := src[i+1]
			i += 2
			switch c {
			case 's':
				if inClass {
					b.WriteString(ecmaSpaceClass)
				} else {
					b.WriteString("[" + ecmaSpaceClass + "]")
				}
			case 'S':
				if inClass {
					b.WriteString(ecmaNonSpaceClass)
				} else {
					b.WriteString("[^" + ecmaSpaceClass + "]")
				}
			case 'u':
				cp, used, err := ecmaUnicodeEscape(src[i:])
				if err != nil {
					return "", err
				}
				i += used
				fmt.Fprintf(&b, `\x{%x}`, cp)
			case 'c':
				if i >= len(src) || !isASCIILetter(src[i]) {
					return "", fmt.Errorf(`\c must be followed by a letter`)
				}
				fmt.Fprintf(&b, `\x{%x}`, src[i]%32)
				i++
			case 'b':
				if inClass {
					b.WriteString(`\x{8}`)
				} else {
					b.WriteString(`\b`)
				}
			case 'p', 'P':
				name, used, err := ecmaProperty(src[i:])
				if err != nil {
					return "", err
				}
				i += used
				b.WriteString(`\` + string(c) + "{" + name + "}")
			default:
				r, n := utf8.DecodeRuneInString(src[i-1:])
				i += n - 1
				b.WriteByte('\\')
				b.WriteRune(r)
			}
			continue
		case inClass && r == ']':
			inClass = false
			b.WriteByte(']')
		case inClass && r == '[':
			b.WriteString(`\[`)
		case inClass:
			b.WriteRune(r)
		case r == '[':
			rest := src[i+1:]
			switch {
			case strings.HasPrefix(rest, "]"):
				b.WriteString(`[^\x{0}-\x{10ffff}]`)
				i += 2
				continue
			case strings.HasPrefix(rest, "^]"):
				b.WriteString(`[\x{0}-\x{10ffff}]`)
				i += 3
				continue
			case strings.HasPrefix(rest, "^"):
				b.WriteString("[^")
				n++
			default:
				b.WriteByte('[')
			}
			inClass = true
		case r == '.':
			b.WriteString(`[^\n\r\x{2028}\x{2029}]`)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String(), nil
}

// ecmaSpace lists ECMA-262's WhiteSpace and LineTerminator code points: \s.
var ecmaSpace = []runeRange{
	{'\t', '\r'}, {' ', ' '}, {0xa0, 0xa0}, {0x1680, 0x1680}, {0x2000, 0x200a},
	{0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}, {0xfeff, 0xfeff},
}

var (
	ecmaSpaceClass    = classText(ecmaSpace)
	ecmaNonSpaceClass = classText(normalize(append([]runeRange(nil), ecmaSpace...), true))
)

// classText writes ranges as the inside of an RE2 character class.
func classText(rs []runeRange) string {
	var b strings.Builder
	for _, r := range rs {
		if r.lo == r.hi {
			fmt.Fprintf(&b, `\x{%x}`, r.lo)
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
		}
	}
	return b.String()
}

// ecmaUnicodeEscape reads what follows \u: {X...} or four hex digits, a
// high surrogate taking the \uXXXX low surrogate after it. It returns the
// code point and the bytes read.
func ecmaUnicodeEscape(s string) (rune, int, error) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 2 {
			return 0, 0, fmt.Errorf(`\u{ without its hex digits and }`)
		}
		v, err := strconv.ParseUint(s[1:end], 16, 32)
		if err != nil || v > utf8.MaxRune || v >= 0xd800 && v <= 0xdfff {
			return 0, 0, fmt.Errorf(`\u{%s} is not a character`, s[1:end])
		}
		return rune(v), end + 1, nil
	}
	hex4 := func(s string) (rune, bool) {
		if len(s) < 4 {
			return 0, false
		}
		v, err := strconv.ParseUint(s[:4], 16, 32)
		return rune(v), err == nil
	}
	v, ok := hex4(s)
	if !ok {
		return 0, 0, fmt.Errorf(`\u must be followed by four hex digits or {hex}`)
	}
	switch {
	case v >= 0xd800 && v <= 0xdbff:
		if lo, ok := hex4(strings.TrimPrefix(s[4:], `\u`)); ok && strings.HasPrefix(s[4:], `\u`) && lo >= 0xdc00 && lo <= 0xdfff {
			return 0x10000 + (v-0xd800)<<10 + (lo - 0xdc00), 10, nil
		}
		return 0, 0, fmt.Errorf(`\u%s is half a surrogate pair`, s[:4])
	case v >= 0xdc00 && v <= 0xdfff:
		return 0, 0, fmt.Errorf(`\u%s is half a surrogate pair`, s[:4])
	}
	return v, 4, nil
}

// ecmaProperty reads the {…} after \p or \P and returns the name RE2 knows
// it by.
func ecmaProperty(s string) (string, int, error) {
	end := strings.IndexByte(s, '}')
	if !strings.HasPrefix(s, "{") || end < 2 {
		return "", 0, fmt.Errorf(`\p must be followed by {name}`)
	}
	name := s[1:end]
	if k, v, ok := strings.Cut(name, "="); ok {
		switch k {
		case "Script", "sc", "Script_Extensions", "scx":
			// RE2 has no script extensions; the script itself is the
			// nearest it can say.
			return v, end + 1, nil
		case "General_Category", "gc":
			name = v
		default:
			return "", 0, fmt.Errorf(`\p{%s}: unknown property`, name)
		}
	}
	if short, ok := ecmaCategories[name]; ok {
		name = short
	}
	return name, end + 1, nil
}

// ecmaCategories maps Unicode's long general category names to the short
// ones RE2 reads.
var ecmaCategories = map[string]string{
	"Letter": "L", "Cased_Letter": "LC", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll",
	"Titlecase_Letter": "Lt", "Modifier_Letter": "Lm", "Other_Letter": "Lo",
	"Mark": "M", "Combining_Mark": "M", "Nonspacing_Mark": "Mn", "Spacing_Mark": "Mc", "Enclosing_Mark": "Me",
	"Number": "N", "Decimal_Number": "Nd", "digit": "Nd", "Letter_Number": "Nl", "Other_Number": "No",
	"Punctuation": "P", "punct": "P", "Connector_Punctuation": "Pc", "Dash_Punctuation": "Pd",
	"Open_Punctuation": "Ps", "Close_Punctuation": "Pe", "Initial_Punctuation": "Pi",
	"Final_Punctuation": "Pf", "Other_Punctuation": "Po",
	"Symbol": "S", "Math_Symbol": "Sm", "Currency_Symbol": "Sc", "Modifier_Symbol": "Sk", "Other_Symbol": "So",
	"Separator": "Z", "Space_Separator": "Zs", "Line_Separator": "Zl", "Paragraph_Separator": "Zp",
	"Other": "C", "Control": "Cc", "cntrl": "Cc", "Format": "Cf", "Surrogate": "Cs",
	"Private_Use": "Co", "Unassigned": "Cn",
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
