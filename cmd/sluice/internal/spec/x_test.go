package spec
import ("testing";"fmt";"github.com/goccy/go-yaml")
func TestX(t *testing.T){
 for _, s := range []string{"a: 1\nb: -2\nc: 1.5\nd: 2024-01-25T11:21:28Z\ne: ~\nf: [1, x]\ng: {1: a, true: b}\nh: 18446744073709551615\n", "a: 1\na: 2\n", "a: [\n", "- 1\n", "", "a: *x\n", "---\na: 1\n---\nb: 2\n", "{\"a\": {\"b\": [1,2]}}", "a: !!binary aGVsbG8=\n", "k: !!timestamp 2024-01-01\n"} {
  var v any
  err := yaml.Unmarshal([]byte(s), &v)
  fmt.Printf("%q => %#v err=%v\n", s, v, err)
  if e, ok := err.(yaml.Error); ok { fmt.Println("  tok", e.GetToken().Position.Line, e.GetToken().Position.Column, e.GetMessage()) }
 }
}
