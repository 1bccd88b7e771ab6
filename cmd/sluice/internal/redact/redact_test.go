package redact

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	set := &Set{}
	set.Add("s3cr3t-token", "", "abc def/+x")
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"Bearer s3cr3t-token", "Bearer ***"},
		{"s3cr3t-tokens3cr3t-token", "******"},
		{"q=" + url.QueryEscape("abc def/+x"), "q=***"},
		{"p/" + url.PathEscape("abc def/+x"), "p/***"},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte("s3cr3t-token")), "b64 ***"},
	}
	for _, tt := range tests {
		if got := set.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var empty *Set
	if got := empty.String("x"); got != "x" {
		t.Errorf("nil set: %q", got)
	}
}

// TestShortValuesKept: values under MinLen characters are not masked, as
// they would match inside load ids, timings and paths.
// maskCase is a secret, an output line and the line masked.
type maskCase struct{ name, value, in, want string }

func checkMasks(t *testing.T, tests []maskCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &Set{}
			set.Add(tt.value)
			if got := set.String(tt.in); got != tt.want {
				t.Errorf("String(%q) with secret %q = %q, want %q", tt.in, tt.value, got, tt.want)
			}
		})
	}
}

func TestShortValuesKept(t *testing.T) {
	tests := []maskCase{
		{"one digit", "1", "completed in 0.51 seconds", "completed in 0.51 seconds"},
		{"three chars", "abc", "/tmp/abc/x", "/tmp/abc/x"},
		{"three runes", "äöü", "käöüse", "käöüse"},
		{"four chars masked", "abcd", "/tmp/abcd/x", "/tmp/***/x"},
		{"five digits masked", "12345", "id 0.123456", "id 0.***6"},
	}
	checkMasks(t, tests)
}

// TestAnyCase: a secret is masked in any letter case, as errors and
// expressions may upper-case a value (strings.ToUpper, expr's upper()).
func TestAnyCase(t *testing.T) {
	tests := []maskCase{
		{"upper", "SuperSecret123xyz", `unknown method "SUPERSECRET123XYZ"`, `unknown method "***"`},
		{"lower", "SuperSecret123xyz", "pipeline supersecret123xyz_", "pipeline ***_"},
		{"mixed", "abcdef", "x AbCdEf y", "x *** y"},
		{"escaped upper", "abc def/+x", "q=" + strings.ToUpper(url.QueryEscape("abc def/+x")), "q=***"},
		{"non-ascii value", "grüße-straße", "GRÜSSE " + strings.ToUpper("grüße-straße") + " ok", "GRÜSSE *** ok"},
		{"non-ascii around", "token-abc", "ä TOKEN-ABC ö token-abc", "ä *** ö ***"},
		{"long s folds to S", "ſecret", "SECRET", "***"},
		{"kelvin folds to k", "kelvin", "\u212aelvin", "***"},
		{"dotless i", "ıdent", strings.ToUpper("ıdent"), "***"},
		{"invalid utf-8 kept", "secret", "\xff SECRET \xfe", "\xff *** \xfe"},
		{"still four chars", "abc", "ABC abc", "ABC abc"},
	}
	checkMasks(t, tests)
}

// TestOverlapping: two secrets that overlap are masked as one, leaving no
// part of either.
func TestOverlapping(t *testing.T) {
	set := &Set{}
	set.Add("abcdef", "defghi")
	for in, want := range map[string]string{
		"x abcdefghi y":  "x *** y",
		"x ABCDEFGHI y":  "x *** y",
		"abcdefdefghi":   "******",
		"defghi abcdef":  "*** ***",
		"abcdeabcdefghi": "abcde***",
	} {
		if got := set.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLongestFirst(t *testing.T) {
	set := &Set{}
	set.Add("secret", "secret-longer")
	if got := set.String("a secret-longer b"); got != "a *** b" {
		t.Errorf("got %q", got)
	}
}

func TestWriterSplitWrites(t *testing.T) {
	var out bytes.Buffer
	set := &Set{}
	w := NewWriter(&out, set)
	set.Add("hunter2-password")
	// The secret arrives in pieces, as a logger might write it.
	for _, p := range []string{"login with hun", "ter2-pass", "word ok\nprogress hunter2-", "password\r", "tail hunter2-password"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(out.String(), "tail") {
		t.Errorf("unfinished line written before Flush: %q", out.String())
	}
	w.Flush()
	got := out.String()
	want := "login with *** ok\nprogress ***\rtail ***"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriterAddLater(t *testing.T) {
	var out bytes.Buffer
	set := &Set{}
	w := NewWriter(&out, set)
	w.Write([]byte("before "))
	set.Add("late-secret")
	w.Write([]byte("late-secret\n"))
	if got := out.String(); got != "before ***\n" {
		t.Errorf("got %q", got)
	}
}
