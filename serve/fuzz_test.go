package serve

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FuzzLikePattern: any client pattern compiles, a pattern matches itself
// with its wildcards escaped, and % matches what any text would.
func FuzzLikePattern(f *testing.F) {
	for _, s := range []string{"", "%", "_", `\`, `a\%b`, "posts__%", "[(*.+?", "é%_"} {
		f.Add(s, "posts")
	}
	f.Add("\xff", "\xa5") // invalid UTF-8 compiles (as U+FFFD)
	f.Fuzz(func(t *testing.T, pattern, name string) {
		re := likeRe(&pattern) // must not panic, whatever the bytes
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return // protobuf strings are UTF-8; names in DuckDB too
		}
		escaped := regexp.MustCompile(`([\\%_])`).ReplaceAllString(name, `\$1`)
		if !likeRe(&escaped).MatchString(name) {
			t.Errorf("%q escaped as %q does not match itself", name, escaped)
		}
		all := "%"
		if !likeRe(&all).MatchString(name) {
			t.Errorf("%% does not match %q", name)
		}
		if !strings.ContainsAny(pattern, `%_\`) && re.MatchString(name) != (pattern == name) {
			t.Errorf("literal pattern %q against %q: %v", pattern, name, re.MatchString(name))
		}
	})
}

// TestRecovery: a panic in a call fails that call Internal, not the server.
func TestRecovery(t *testing.T) {
	_, err := recoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Unary"},
		func(context.Context, any) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "/x/Unary: boom") {
		t.Errorf("unary: %v", err)
	}
	err = recoverStream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x/Stream"},
		func(any, grpc.ServerStream) error { panic("boom") })
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "/x/Stream: boom") {
		t.Errorf("stream: %v", err)
	}
}
