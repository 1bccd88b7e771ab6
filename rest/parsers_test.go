package rest

import (
	"runtime"
	"testing"

	"github.com/valyala/fastjson"
)

func TestParserListKeepsAcrossGC(t *testing.T) {
	l := newParserList()
	p := l.Get()
	if _, err := p.Parse(`{"a":[1,2,3]}`); err != nil {
		t.Fatal(err)
	}
	l.Put(p, 13)
	runtime.GC()
	runtime.GC()
	if got := l.Get(); got != p {
		t.Error("a kept parser was lost to garbage collection")
	}
	l.Put(p, bigBody+1)
	if got := l.Get(); got == p {
		t.Error("a parser that parsed a big body was kept")
	}
	for range parsersKept + 5 {
		l.Put(l.Get(), 1) // never blocks when full
	}
	for range parsersKept + 1 {
		l.Put(new(fastjson.Parser), 1)
	}
	if n := len(l.free); n != parsersKept {
		t.Errorf("kept %d parsers, want at most %d", n, parsersKept)
	}
}
