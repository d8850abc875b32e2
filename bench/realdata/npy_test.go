package main

import (
	"encoding/binary"
	"math"
	"testing"
)

// npyBytes encodes values as a version-1 .npy file of the given header fields.
func npyBytes(descr, order, shape string, vals []float64) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }"
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	b = append(b, h...)
	for _, v := range vals {
		if descr == "<f4" {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		} else {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

func TestParseNPY(t *testing.T) {
	want := [][]float64{{1, 2, 3}, {4, 5, -0.5}}
	for _, tc := range []struct {
		name, descr, order string
		vals               []float64
	}{
		{"f8 C order", "<f8", "False", []float64{1, 2, 3, 4, 5, -0.5}},
		{"f4 C order", "<f4", "False", []float64{1, 2, 3, 4, 5, -0.5}},
		{"f8 Fortran order", "<f8", "True", []float64{1, 4, 2, 5, 3, -0.5}},
	} {
		m, err := parseNPY(npyBytes(tc.descr, tc.order, "(2, 3)", tc.vals))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.Rows != 2 || m.Cols != 3 {
			t.Fatalf("%s: shape %dx%d", tc.name, m.Rows, m.Cols)
		}
		for i := range want {
			for j := range want[i] {
				if m.At(i, j) != want[i][j] {
					t.Errorf("%s: (%d,%d) = %v, want %v", tc.name, i, j, m.At(i, j), want[i][j])
				}
			}
		}
	}
	m, err := parseNPY(npyBytes("<f8", "False", "(3,)", []float64{7, 8, 9}))
	if err != nil || m.Rows != 3 || m.Cols != 1 || m.At(2, 0) != 9 {
		t.Errorf("1-D: %v %+v", err, m)
	}
	for _, bad := range [][]byte{
		[]byte("not numpy at all"),
		npyBytes("<i8", "False", "(1,)", []float64{1}),
		npyBytes("<f8", "False", "(2, 3)", []float64{1, 2}), // short body
		npyBytes("<f8", "False", "(1, 1, 1)", []float64{1}),
	} {
		if _, err := parseNPY(bad); err == nil {
			t.Errorf("parseNPY accepted %q", bad[:min(len(bad), 60)])
		}
	}
}

func TestParseTimeField(t *testing.T) {
	for s, want := range map[string]float64{
		"2016-08-03T09:49:00Z": 1470217740,
		"2016-08-03 09:49:00":  1470217740,
		"1470217740":           1470217740,
	} {
		got, err := parseTimeField(s)
		if err != nil || got != want {
			t.Errorf("parseTimeField(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := parseTimeField("03/08/2016"); err == nil {
		t.Error("parseTimeField accepted a D/M/Y date")
	}
}
