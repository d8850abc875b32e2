// Package mutate makes damaged copies of a valid file for fuzz seeds and
// corruption tests: bit flips, truncations and swapped blocks, spread
// deterministically over the file.
package mutate

// Of returns n bit flips (one bit of one byte each, spread evenly over
// the file and over the bits), n truncations and n swaps of two adjacent
// blocks of 1 to 16 bytes: 3n damaged copies of data.
func Of(data []byte, n int) [][]byte {
	if len(data) == 0 || n < 1 {
		return nil
	}
	var out [][]byte
	for i := range n {
		at := i * len(data) / n
		b := append([]byte(nil), data...)
		b[at] ^= 1 << (i % 8)
		out = append(out, b)
		out = append(out, append([]byte(nil), data[:at]...))
		w := 1 + i%16
		if at+2*w <= len(data) {
			s := append([]byte(nil), data...)
			copy(s[at:], data[at+w:at+2*w])
			copy(s[at+w:], data[at:at+w])
			out = append(out, s)
		}
	}
	return out
}

// BitFlips calls f with every copy of data that has one bit flipped,
// reusing one buffer (f must not keep it).
func BitFlips(data []byte, f func(flipped []byte, at, bit int)) {
	b := append([]byte(nil), data...)
	for at := range b {
		for bit := range 8 {
			b[at] ^= 1 << bit
			f(b, at, bit)
			b[at] ^= 1 << bit
		}
	}
}
