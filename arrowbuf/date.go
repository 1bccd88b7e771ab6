package arrowbuf

import (
	"fmt"
	"time"
)

// Date is a calendar date without a time of day or zone: a struct field or
// map value of this type loads as dlt's date type. Its layout is that of
// cloud.google.com/go/civil.Date, which loads the same way. The zero Date
// is not a valid date and loads as null.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses an ISO date, "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("arrowbuf: date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsValid reports whether d is a real date of the years 1 to 9999.
func (d Date) IsValid() bool {
	return d.Year <= 9999 && validDate(d.Year, int(d.Month), d.Day)
}

// String returns the ISO form, "2006-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// MarshalText writes the ISO form, so encoding/json writes a Date as the
// string a JSON source would send.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads the ISO form.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// days counts days since 1970-01-01; ok is false for an invalid date.
func (d Date) days() (int64, bool) {
	if !d.IsValid() {
		return 0, false
	}
	return daysFromCivil(d.Year, int(d.Month), d.Day), true
}
