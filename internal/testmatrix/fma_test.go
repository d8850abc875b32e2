//go:build !purego

package testmatrix

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fusedAllowed are the functions whose fused multiply-adds are meant:
// kernels.FMA32 rounds a product that is exact in float64, so a fused
// and an unfused sum are the same bits.
var fusedAllowed = map[string]bool{
	"github.com/edgeml/edge/kernels.FMA32":     true,
	"github.com/edgeml/edge/kernels.fma32Slow": true,
}

// TestNoFusedMultiplyAdd builds edge for arm64, where Go fuses a*b+c
// into one FMADD (rounded once) unless a conversion rounds the product
// (float32(a*b)+c), and fails on every FMADD, FMSUB, FNMADD or FNMSUB the
// compiler put into the project's Go code outside fusedAllowed: each
// would make the arm64 binary's outputs differ from amd64's in the last
// bits (x86 builds for GOAMD64=v1 never fuse).
func TestNoFusedMultiplyAdd(t *testing.T) {
	skipShort(t, "the arm64 fused multiply-add check")
	bin := filepath.Join(t.TempDir(), "edge-arm64")
	run(t, []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, "build", "-o", bin, "./cmd/edge")
	cmd := exec.Command(goTool(t), "tool", "objdump", bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	root := moduleRoot(t) + string(filepath.Separator)
	var fn, file string
	var found []string
	checked := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "TEXT" {
			fn, file = strings.TrimSuffix(f[1], "(SB)"), f[2]
			if strings.HasPrefix(file, root) && strings.HasSuffix(file, ".go") {
				checked++
			}
			continue
		}
		if !strings.HasPrefix(file, root) || !strings.HasSuffix(file, ".go") || fusedAllowed[fn] || len(f) < 5 {
			continue
		}
		switch f[3] {
		case "FMADDS", "FMADDD", "FMSUBS", "FMSUBD", "FNMADDS", "FNMADDD", "FNMSUBS", "FNMSUBD":
			found = append(found, fn+" at "+f[0]+": "+strings.Join(f[3:], " "))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if checked < 500 {
		t.Fatalf("only %d of the project's functions in the arm64 binary: the objdump parse is off", checked)
	}
	for _, s := range found {
		t.Errorf("fused multiply-add in %s (round the product with a conversion: float64(a*b) + c)", s)
	}
	t.Logf("%d of the project's Go functions in the arm64 binary checked", checked)
}
