package rest

import "github.com/valyala/fastjson"

// parserList keeps JSON parsers for reuse. fastjson.ParserPool is a
// sync.Pool, which every garbage collection empties, and a new parser
// grows its value cache again page by page: with a collection every few
// dozen pages, that growth was 13% of a flat load's extraction CPU
// (extraction alone 0.65 -> 0.57 s per 1M records with this list).
type parserList struct{ free chan *fastjson.Parser }

// parsersKept bounds the parsers kept: more than the pages a pipeline
// holds at once, so steady loads never make new ones.
const parsersKept = 32

// bigBody is the body size past which a parser is not kept: its cache
// would hold that body's values for the rest of the run.
const bigBody = 8 << 20

func newParserList() parserList {
	return parserList{free: make(chan *fastjson.Parser, parsersKept)}
}

// Get returns a kept parser or a new one.
func (l parserList) Get() *fastjson.Parser {
	select {
	case p := <-l.free:
		return p
	default:
		return new(fastjson.Parser)
	}
}

// Put keeps p for reuse; parsed is the size of the last input it parsed.
func (l parserList) Put(p *fastjson.Parser, parsed int) {
	if parsed > bigBody {
		return
	}
	select {
	case l.free <- p:
	default:
	}
}
