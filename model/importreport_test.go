package model

import (
	"strings"
	"testing"
)

// TestImportReportWriteTo checks the report's lines in both formats: the
// ONNX header, operators named as each format names them, left-out nodes.
func TestImportReportWriteTo(t *testing.T) {
	onnx := &ImportReport{Format: "onnx", Producer: "pytorch", Opset: 17, Input: "x", Output: "y",
		Mappings: []ImportMapping{{Index: 3, Op: "Gemm", Name: "/enc/Gemm", Edge: "encoder.0 dense 4->2"}},
		Ignored:  []ImportMapping{{Index: 7, Op: "Exp"}}}
	tfl := &ImportReport{Format: "tflite", Input: "x", Output: "y",
		Mappings: []ImportMapping{{Index: 2, Op: "FULLY_CONNECTED", Edge: "decoder.0 dense 2->4"}}}
	for _, c := range []struct {
		r    *ImportReport
		want string
	}{
		{onnx, `producer "pytorch", opset 17
input  x
output y
  node 3 (Gemm "/enc/Gemm")                    -> encoder.0 dense 4->2
  node 7 (Exp)                                 -> not on the path to the first output: left out
`},
		{tfl, `input  x
output y
  op 2   FULLY_CONNECTED  -> decoder.0 dense 2->4
`},
	} {
		var b strings.Builder
		n, err := c.r.WriteTo(&b)
		if err != nil || int(n) != b.Len() {
			t.Fatalf("%s: WriteTo = %d, %v for %d bytes", c.r.Format, n, err, b.Len())
		}
		if b.String() != c.want {
			t.Errorf("%s report:\n%s\nwant:\n%s", c.r.Format, b.String(), c.want)
		}
	}
}
