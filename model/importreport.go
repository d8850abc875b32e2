package model

import (
	"fmt"
	"io"
	"strings"
)

// ImportReport says what an importer (ONNX, TFLite) did: the contract
// the file declares and what each of its operators became.
type ImportReport struct {
	Format   string // "onnx" or "tflite"
	Producer string // the producer the file names (ONNX)
	Opset    int64  // the default domain's opset (ONNX)
	// The input and output tensors as the file declares them.
	Input, Output string
	Int8          bool
	Mappings      []ImportMapping
	Ignored       []ImportMapping // operators off the path to the first output, left out
}

// ImportMapping is one line of an ImportReport: an operator of the file
// and what it became in the edge model.
type ImportMapping struct {
	Index int    // the operator's index in the file's graph
	Op    string // its type, as the format spells it: Gemm, FULLY_CONNECTED
	Name  string // its name, if the file gives one
	Edge  string // e.g. "encoder.0 dense 640->128 relu, int8"
}

// Operator names the mapping's operator as the report prints it.
func (m ImportMapping) Operator(format string) string {
	switch {
	case format == "tflite":
		return fmt.Sprintf("op %-3d %-16s", m.Index, m.Op)
	case m.Name != "":
		return fmt.Sprintf("node %d (%s %q)", m.Index, m.Op, m.Name)
	}
	return fmt.Sprintf("node %d (%s)", m.Index, m.Op)
}

// WriteTo prints the report: the contract, then one line per operator.
func (r *ImportReport) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	if r.Format == "onnx" {
		fmt.Fprintf(&b, "producer %q, opset %d\n", r.Producer, r.Opset)
	}
	fmt.Fprintf(&b, "input  %s\noutput %s\n", r.Input, r.Output)
	width := 44
	if r.Format == "tflite" {
		width = 0 // Operator pads its fields
	}
	for _, m := range r.Mappings {
		fmt.Fprintf(&b, "  %-*s -> %s\n", width, m.Operator(r.Format), m.Edge)
	}
	for _, m := range r.Ignored {
		fmt.Fprintf(&b, "  %-*s -> not on the path to the first output: left out\n", width, m.Operator(r.Format))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
