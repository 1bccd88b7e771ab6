package arrowbuf

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// kind is the dlt type a value has before coercion (dlt's py_type).
type kind uint8

const (
	kNull kind = iota
	kBool
	kInt
	kFloat
	kStr
	kTime    // i: µs since epoch, UTC
	kDate    // i: days since epoch
	kClock   // i: µs since midnight
	kJSON    // jv or gv, or s when already text
	kBytes   // s holds the bytes
	kDecimal // s holds the decimal text
	nKinds
)

// pyType is the dlt type name of a kind, used in variant column names.
var pyType = [nKinds]DataType{
	kBool: TypeBool, kInt: TypeBigint, kFloat: TypeDouble, kStr: TypeText,
	kTime: TypeTimestamp, kDate: TypeDate, kClock: TypeTime, kJSON: TypeJSON,
	kBytes: TypeBinary, kDecimal: TypeDecimal,
}

// value is one scalar (or JSON) value on its way into a column. It is a
// plain struct so staging a row allocates nothing.
type value struct {
	k  kind
	b  bool
	i  int64
	f  float64
	s  string
	jv *fastjson.Value
	gv any
}

// inferType is the column type dlt infers for a new column: strings that
// are ISO date-times become timestamps.
func inferType(v *value) DataType {
	if v.k == kStr {
		if _, ok := parseISODateTime(v.s); ok {
			return TypeTimestamp
		}
		return TypeText
	}
	return pyType[v.k]
}

// coerce converts v to a column of type to, following dlt's coerce_value;
// ok is false when dlt would raise (and so create a variant column).
func coerce(to DataType, v *value) (value, bool) {
	if pyType[v.k] == to {
		return *v, true
	}
	switch to {
	case TypeText:
		return value{k: kStr, s: textOf(v)}, true
	case TypeWei:
		return weiOf(v)
	case TypeBigint:
		switch v.k {
		case kFloat:
			if v.f != math.Trunc(v.f) || math.IsInf(v.f, 0) || v.f >= 9.223372036854775807e18 || v.f < -9.223372036854775808e18 {
				return value{}, false
			}
			return value{k: kInt, i: int64(v.f)}, true
		case kStr:
			t := strings.TrimSpace(v.s)
			if h, ok := strings.CutPrefix(t, "0x"); ok {
				i, err := strconv.ParseInt(h, 16, 64)
				return value{k: kInt, i: i}, err == nil
			}
			i, err := strconv.ParseInt(t, 10, 64)
			return value{k: kInt, i: i}, err == nil
		case kDecimal:
			r, ok := new(big.Rat).SetString(v.s)
			if !ok || !r.IsInt() || !r.Num().IsInt64() {
				return value{}, false
			}
			return value{k: kInt, i: r.Num().Int64()}, true
		case kInt:
			return *v, true
		}
	case TypeDouble:
		switch v.k {
		case kInt:
			return value{k: kFloat, f: float64(v.i)}, true
		case kStr:
			t := strings.TrimSpace(v.s)
			if h, ok := strings.CutPrefix(t, "0x"); ok {
				i, err := strconv.ParseInt(h, 16, 64)
				return value{k: kFloat, f: float64(i)}, err == nil
			}
			f, err := strconv.ParseFloat(t, 64)
			return value{k: kFloat, f: f}, err == nil
		case kDecimal:
			f, err := strconv.ParseFloat(v.s, 64)
			return value{k: kFloat, f: f}, err == nil
		}
	case TypeDecimal:
		switch v.k {
		case kInt:
			return value{k: kDecimal, s: strconv.FormatInt(v.i, 10)}, true
		case kFloat:
			if math.IsInf(v.f, 0) || math.IsNaN(v.f) {
				return value{}, false
			}
			return value{k: kDecimal, s: strconv.FormatFloat(v.f, 'f', -1, 64)}, true
		case kStr:
			t := strings.TrimSpace(v.s)
			if _, ok := new(big.Rat).SetString(t); !ok {
				return value{}, false
			}
			return value{k: kDecimal, s: t}, true
		}
	case TypeBool:
		switch v.k {
		case kStr:
			// dlt's str2bool: these words in any case, nothing else
			// (no "on"/"off", no surrounding spaces).
			switch strings.ToLower(v.s) {
			case "y", "yes", "t", "true", "1":
				return value{k: kBool, b: true}, true
			case "n", "no", "f", "false", "0":
				return value{k: kBool}, true
			}
			return value{}, false
		case kInt:
			return value{k: kBool, b: v.i != 0}, true
		case kFloat:
			return value{k: kBool, b: v.f != 0}, true
		}
	case TypeTimestamp:
		switch v.k {
		case kStr:
			if us, ok := parseISODateTime(v.s); ok {
				return value{k: kTime, i: us}, true
			}
			if d, ok := parseISODate(strings.TrimSpace(v.s)); ok {
				return value{k: kTime, i: d * 86400e6}, true
			}
		case kInt:
			return value{k: kTime, i: v.i * 1e6}, true
		case kFloat:
			return value{k: kTime, i: int64(math.Round(v.f * 1e6))}, true
		case kDate:
			return value{k: kTime, i: v.i * 86400e6}, true
		}
	case TypeDate:
		switch v.k {
		case kStr:
			t := strings.TrimSpace(v.s)
			if d, ok := parseISODate(t); ok {
				return value{k: kDate, i: d}, true
			}
			if us, ok := parseISODateTime(t); ok {
				return value{k: kDate, i: floorDiv(us, 86400e6)}, true
			}
		case kTime:
			return value{k: kDate, i: floorDiv(v.i, 86400e6)}, true
		case kInt:
			return value{k: kDate, i: floorDiv(v.i, 86400)}, true
		case kFloat:
			return value{k: kDate, i: floorDiv(int64(v.f), 86400)}, true
		}
	case TypeTime:
		switch v.k {
		case kStr:
			if us, ok := parseClock(strings.TrimSpace(v.s)); ok {
				return value{k: kClock, i: us}, true
			}
		case kTime:
			return value{k: kClock, i: v.i - floorDiv(v.i, 86400e6)*86400e6}, true
		}
	case TypeJSON:
		if v.k == kStr {
			return jsonOfText(v.s)
		}
	case TypeBinary:
		switch v.k {
		case kStr:
			if h, ok := strings.CutPrefix(v.s, "0x"); ok {
				b, err := hex.DecodeString(h)
				return value{k: kBytes, s: string(b)}, err == nil
			}
			b, err := base64.StdEncoding.DecodeString(v.s)
			if err != nil {
				b, err = base64.RawStdEncoding.DecodeString(v.s)
			}
			return value{k: kBytes, s: string(b)}, err == nil
		case kInt:
			if v.i < 0 {
				return value{}, false
			}
			var b []byte
			for x := uint64(v.i); x > 0; x >>= 8 {
				b = append(b, byte(x))
			}
			return value{k: kBytes, s: string(b)}, true
		}
	}
	return value{}, false
}

// weiOf converts v as dlt's Wei(value) does: a number, or numeric text
// (trimmed, 0x hex as an integer). wei is DECIMAL(38,0), so a fraction is
// rounded half away from zero, as DuckDB casts dlt's Wei into the column;
// more than 38 digits does not fit (ok false: a variant).
func weiOf(v *value) (value, bool) {
	var r big.Rat
	switch v.k {
	case kInt:
		return value{k: kDecimal, s: strconv.FormatInt(v.i, 10)}, true
	case kFloat:
		if math.IsInf(v.f, 0) || math.IsNaN(v.f) {
			return value{}, false
		}
		r.SetFloat64(v.f)
	case kDecimal:
		if _, ok := r.SetString(v.s); !ok {
			return value{}, false
		}
	case kStr:
		t := strings.TrimSpace(v.s)
		h, hex := strings.CutPrefix(t, "0x")
		switch {
		case hex:
			i, ok := new(big.Int).SetString(h, 16)
			if !ok {
				return value{}, false
			}
			r.SetInt(i)
		case !isDecimalText(t):
			return value{}, false
		default:
			if _, ok := r.SetString(t); !ok {
				return value{}, false
			}
		}
	default:
		return value{}, false
	}
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Abs(m).Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(int64(r.Sign())))
	}
	s := q.String()
	if len(strings.TrimPrefix(s, "-")) > 38 {
		return value{}, false
	}
	return value{k: kDecimal, s: s}, true
}

// jsonParsers parse text headed for a json column.
var jsonParsers fastjson.ParserPool

// jsonOfText is dlt's json.loads of text for a json column: the document
// it holds, kept as compact text like other json values (the parser is
// reused, so no parsed value may outlive this call). JSON null is null.
// Strict RFC 8259 in valid UTF-8, as fastjson is not: json.loads rejects
// control characters in strings too, and NaN or Infinity, which it reads,
// or invalid UTF-8 (which fastjson writes as \x escapes) would make the
// column invalid JSON.
func jsonOfText(s string) (value, bool) {
	if !utf8.ValidString(s) || !json.Valid([]byte(s)) {
		return value{}, false
	}
	p := jsonParsers.Get()
	defer jsonParsers.Put(p)
	jv, err := p.Parse(s)
	if err != nil {
		return value{}, false
	}
	if jv.Type() == fastjson.TypeNull {
		return value{}, true
	}
	return value{k: kJSON, s: string(AppendJSONText(nil, jv))}, true
}

// isDecimalText reports whether s is a number as Python's Decimal reads
// it: a sign, digits with an optional point, an optional exponent.
// big.Rat alone also takes fractions (1/2) and 0b/0o prefixes. The
// exponent has at most 4 digits: big.Rat computes the power (1e999999
// takes 0.1 s), and a larger one is no wei but for 0e99999 and the like.
func isDecimalText(s string) bool {
	i, n := 0, 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			n++
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] == '0' {
			i++
		}
		k := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j || i-k > 4 {
			return false
		}
	}
	return i == len(s)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// textOf renders v the way Python's str() does, which is what dlt stores
// when a value lands in a text column.
func textOf(v *value) string {
	switch v.k {
	case kStr, kDecimal:
		return v.s
	case kBool:
		if v.b {
			return "True"
		}
		return "False"
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return pyFloat(v.f)
	case kTime:
		return time.UnixMicro(v.i).UTC().Format("2006-01-02 15:04:05.999999-07:00")
	case kDate:
		return time.Unix(v.i*86400, 0).UTC().Format(time.DateOnly)
	case kClock:
		return time.UnixMicro(v.i).UTC().Format("15:04:05.999999")
	case kJSON:
		return string(jsonText(nil, v))
	case kBytes:
		return v.s
	}
	return ""
}

// pyFloat formats like Python's repr(float): shortest round-trip digits,
// always with a ".0" or exponent, exponent form outside [1e-4, 1e16).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Python writes e+16 / e-05 with at least two exponent digits, as Go.
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// jsonText appends the JSON text of a kJSON value.
func jsonText(dst []byte, v *value) []byte {
	switch {
	case v.jv != nil:
		return AppendJSONText(dst, v.jv)
	case v.gv != nil:
		return appendGoJSON(dst, v.gv)
	}
	return append(dst, v.s...)
}

func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	x := 0
	for j := i; j < i+n; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int(c-'0')
	}
	return x, true
}

// daysFromCivil counts days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	dim := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		dim = 29
	}
	return d <= dim && y >= 1
}

// parseISODate parses YYYY-MM-DD into days since the epoch.
func parseISODate(s string) (int64, bool) {
	if len(s) != 10 {
		return 0, false
	}
	return parseDays(s)
}

// parseDays parses the YYYY-MM-DD that s starts with into days since the
// epoch.
func parseDays(s string) (int64, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseClock parses HH:MM[:SS[.ffffff]] into µs since midnight.
func parseClock(s string) (int64, bool) {
	us, n, ok := parseClockPrefix(s)
	return us, ok && n == len(s)
}

func parseClockPrefix(s string) (us int64, n int, ok bool) {
	h, ok1 := digits(s, 0, 2)
	if !ok1 || len(s) < 5 || s[2] != ':' {
		return 0, 0, false
	}
	mi, ok2 := digits(s, 3, 2)
	if !ok2 || h > 23 || mi > 59 {
		return 0, 0, false
	}
	sec, i := 0, 5
	frac := int64(0)
	if i < len(s) && s[i] == ':' {
		var ok3 bool
		if sec, ok3 = digits(s, i+1, 2); !ok3 || sec > 59 {
			return 0, 0, false
		}
		i += 3
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			i++
			start := i
			scale := int64(100000)
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				if i-start < 6 {
					frac += int64(s[i]-'0') * scale
					scale /= 10
				}
				i++
			}
			if i == start {
				return 0, 0, false
			}
		}
	}
	return (int64(h)*3600+int64(mi)*60+int64(sec))*1e6 + frac, i, true
}

// parseISODateTime parses an ISO 8601 date-time (T or space separator,
// optional seconds and fraction, Z or ±HH[:MM] offset; naive means UTC)
// into µs since the epoch, by hand because it runs per string value.
// Plain dates and times are not date-times.
func parseISODateTime(s string) (int64, bool) {
	if len(s) < 16 || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') {
		return 0, false
	}
	days, ok := parseDays(s)
	if !ok {
		return 0, false
	}
	clock, n, ok := parseClockPrefix(s[11:])
	if !ok {
		return 0, false
	}
	rest := s[11+n:]
	var off int64
	switch {
	case rest == "":
	case rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		oh, ok := digits(rest, 1, 2)
		if !ok || oh > 23 {
			return 0, false
		}
		om := 0
		switch len(rest) {
		case 3:
		case 5:
			if om, ok = digits(rest, 3, 2); !ok {
				return 0, false
			}
		case 6:
			if rest[3] != ':' {
				return 0, false
			}
			if om, ok = digits(rest, 4, 2); !ok {
				return 0, false
			}
		default:
			return 0, false
		}
		if om > 59 {
			return 0, false
		}
		off = int64(oh*3600+om*60) * 1e6
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	return days*86400e6 + clock - off, true
}
