package mutate

import (
	"bytes"
	"testing"
)

func TestOf(t *testing.T) {
	data := make([]byte, 120)
	for i := range data {
		data[i] = byte(i) // no two blocks alike, so no swap is the original
	}
	out := Of(data, 10)
	if len(out) < 20 || len(out) > 30 {
		t.Fatalf("%d copies for n=10", len(out))
	}
	for i, b := range out {
		if bytes.Equal(b, data) {
			t.Errorf("copy %d is the original", i)
		}
	}
	if Of(nil, 5) != nil || Of(data, 0) != nil {
		t.Error("copies of nothing")
	}
}

func TestBitFlips(t *testing.T) {
	data := []byte{1, 2, 3}
	n := 0
	BitFlips(data, func(b []byte, at, bit int) {
		if b[at] != data[at]^1<<bit || !bytes.Equal(b[:at], data[:at]) || !bytes.Equal(b[at+1:], data[at+1:]) {
			t.Errorf("flip of bit %d at %d: %v", bit, at, b)
		}
		n++
	})
	if n != 24 || !bytes.Equal(data, []byte{1, 2, 3}) {
		t.Errorf("%d flips, data now %v", n, data)
	}
}
