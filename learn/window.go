package learn

import "math"

// Limits of the window chosen from the data.
const (
	// MaxWindow is the longest window chosen from the data.
	MaxWindow = 32
	// DefaultWindow is the window when the data show no period.
	DefaultWindow = 16
)

// DominantPeriod returns the series' dominant period in rows, from the
// autocorrelation averaged over (up to 16 of) its channels: the lag of
// the highest autocorrelation peak after the first dip below zero, if that
// peak is above 0.3 and the period fits three times into the series; 0
// otherwise. x is time-major, normalised, without missing values.
func DominantPeriod(x []float32, c int) int {
	n := len(x) / c
	maxLag := min(n/3, 2048)
	if maxLag < 4 {
		return 0
	}
	acf := make([]float64, maxLag+1)
	step := max(1, c/16)
	used := 0
	col := make([]float64, n)
	for ch := 0; ch < c; ch += step {
		var mean float64
		for t := 0; t < n; t++ {
			col[t] = float64(x[t*c+ch])
			mean += col[t]
		}
		mean /= float64(n)
		var v0 float64
		for t := range col {
			col[t] -= mean
			v0 += float64(col[t] * col[t])
		}
		if v0 == 0 {
			continue
		}
		for lag := 0; lag <= maxLag; lag++ {
			var s float64
			for t := lag; t < n; t++ {
				s += float64(col[t] * col[t-lag])
			}
			acf[lag] += s / v0
		}
		used++
	}
	if used == 0 {
		return 0
	}
	lag := 1
	for lag <= maxLag && acf[lag]/float64(used) > 0 {
		lag++
	}
	best, at := 0.3, 0
	for ; lag < maxLag; lag++ {
		a := acf[lag] / float64(used)
		if a > best && a >= acf[lag-1]/float64(used) && a >= acf[lag+1]/float64(used) {
			best, at = a, lag
		}
	}
	return at
}

// MaxValues bounds the values of a window chosen from the data (w·c), so
// that many channels make a short window rather than a large model.
const MaxValues = 512

// ChooseWindow returns the window for n learning rows of c channels with
// dominant period p (0: none): the period, or DefaultWindow without one,
// at most MaxWindow and MaxValues/c; then short enough that the learning
// rows hold eight windows end to end and four rows per value of a window
// (w·c <= n/4), at least 1.
func ChooseWindow(n, c, p int) int {
	w := DefaultWindow
	if p > 1 {
		w = p
	}
	w = min(w, MaxWindow, MaxValues/c, n/8, int(math.Floor(float64(n)/float64(4*c))))
	return max(w, 1)
}
