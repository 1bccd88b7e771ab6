package bench

import (
	"fmt"
	"strconv"
	"time"
)

// Shape selects the records a benchmark loads.
type Shape string

// The record shapes.
const (
	// Flat records have 10 fields, one of them a nested dict (11 columns).
	Flat Shape = "flat"
	// Nested records are flat records with a list of 5 child objects.
	Nested Shape = "nested"
)

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// appendRecord writes record i as JSON.
func appendRecord(b []byte, i int, shape Shape) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"name":"user `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","email":"user`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `@example.com","age":`...)
	b = strconv.AppendInt(b, int64(18+i%60), 10)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, float64(i%1000)/7, 'f', 4, 64)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, i%3 != 0)
	b = append(b, `,"created_at":"`...)
	b = base.Add(time.Duration(i)*time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, `","country":"`...)
	b = append(b, countries[i%len(countries)]...)
	b = append(b, `","address":{"city":"`...)
	b = append(b, cities[i%len(cities)]...)
	b = append(b, `","zip":"`...)
	b = append(b, fmt.Sprintf("%05d", i%100000)...)
	b = append(b, `"}`...)
	if shape == Nested {
		b = append(b, `,"orders":[`...)
		for k := range 5 {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"order_id":`...)
			b = strconv.AppendInt(b, int64(i*5+k), 10)
			b = append(b, `,"amount":`...)
			b = strconv.AppendFloat(b, float64(k)+0.5, 'f', 2, 64)
			b = append(b, `,"sku":"SKU-`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `"}`...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

var (
	countries = []string{"DE", "FR", "US", "PL", "JP", "BR", "IN"}
	cities    = []string{"Berlin", "Paris", "Austin", "Warsaw", "Tokyo", "Recife", "Pune"}
)

// Pages returns rows records as JSON pages of pageSize records each, in the
// shape {"data":[...]} a REST API returns.
func Pages(rows, pageSize int, shape Shape) [][]byte {
	var pages [][]byte
	for start := 0; start < rows; start += pageSize {
		end := min(start+pageSize, rows)
		b := make([]byte, 0, (end-start)*256)
		b = append(b, `{"data":[`...)
		for i := start; i < end; i++ {
			if i > start {
				b = append(b, ',')
			}
			b = appendRecord(b, i, shape)
		}
		b = append(b, "]}"...)
		pages = append(pages, b)
	}
	return pages
}

// Bytes sums the pages' sizes.
func Bytes(pages [][]byte) int64 {
	var n int64
	for _, p := range pages {
		n += int64(len(p))
	}
	return n
}
