package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Matrix is a row-major table of float64.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// At returns element (i, j).
func (m *Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// parseNPY reads a NumPy .npy file holding a 1-D or 2-D array of
// little-endian float64 or float32 (format versions 1 to 3).
func parseNPY(b []byte) (*Matrix, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npy: bad magic")
	}
	var hlen, off int
	switch b[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("npy: short header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("npy: format version %d", b[6])
	}
	if off+hlen > len(b) {
		return nil, fmt.Errorf("npy: header runs past the end")
	}
	header := string(b[off : off+hlen])
	body := b[off+hlen:]
	d := npyDescr.FindStringSubmatch(header)
	o := npyOrder.FindStringSubmatch(header)
	s := npyShape.FindStringSubmatch(header)
	if d == nil || o == nil || s == nil {
		return nil, fmt.Errorf("npy: cannot read header %q", header)
	}
	var dims []int
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("npy: bad shape %q", s[1])
		}
		dims = append(dims, n)
	}
	m := &Matrix{}
	switch len(dims) {
	case 1:
		m.Rows, m.Cols = dims[0], 1
	case 2:
		m.Rows, m.Cols = dims[0], dims[1]
	default:
		return nil, fmt.Errorf("npy: %d dimensions, want 1 or 2", len(dims))
	}
	n := m.Rows * m.Cols
	var size int
	switch d[1] {
	case "<f8":
		size = 8
	case "<f4":
		size = 4
	default:
		return nil, fmt.Errorf("npy: dtype %q, want <f8 or <f4", d[1])
	}
	if len(body) != n*size {
		return nil, fmt.Errorf("npy: %d data bytes for shape %v of %s", len(body), dims, d[1])
	}
	raw := make([]float64, n)
	for i := range raw {
		if size == 8 {
			raw[i] = math.Float64frombits(binary.LittleEndian.Uint64(body[8*i:]))
		} else {
			raw[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])))
		}
	}
	if o[1] == "True" && m.Cols > 1 { // column-major: transpose into rows
		m.Data = make([]float64, n)
		for j := 0; j < m.Cols; j++ {
			for i := 0; i < m.Rows; i++ {
				m.Data[i*m.Cols+j] = raw[j*m.Rows+i]
			}
		}
	} else {
		m.Data = raw
	}
	return m, nil
}
