package main

import (
	"fmt"
	"log"
	"strings"
)

// family is one micro-kernel family and its tile table: the one place
// that says which tiles exist. The generator emits a kernel for every tile
// in it and nothing else, and writes the table into package asm (as
// <sym>Tiles), where package kernels' dispatch chooses from it. To try a
// new tile shape, widen the table here and regenerate.
type family struct {
	arch string // GOARCH of the assembly
	file string // assembly file written
	sym  string // Go name of the family in package asm
	op   string // "q8" (int8 GEMM, with a float32-output twin) or "f32"
	isa  string // ISA suffix of the kernel names, as XNNPACK spells it
	nr   int    // output channels per weight block
	kr   int    // k per weight group (1 for float32: no grouping)
	// widest[mr] is the most blocks a tile of mr rows spans (index 0
	// unused). It may not grow with mr, so every tail tile of a chosen
	// tile is in the table too; len(widest)-1 is the tallest tile.
	widest []int
	emit   func(e *emitter, name string, mr, nv int, float bool)
	doc    string // what a kernel of the family is, for the selector's doc
	data   string // assembly appended after the kernels
}

// families lists every family in the order its files are written.
var families = []family{
	{arch: "amd64", file: "q8_avx512_amd64.s", sym: "Q8AVX512VNNI", op: "q8", isa: "avx512vnni", nr: 16, kr: 4,
		widest: []int{0, 8, 4, 4, 4, 4, 4}, emit: q8avx512,
		doc: "an int8 AVX-512 VNNI micro-kernel (VPDPBUSD): MR rows by NV blocks of 16 channels, K in groups of 4"},
	{arch: "amd64", file: "q8_avx2_amd64.s", sym: "Q8AVX2", op: "q8", isa: "avx2", nr: 8, kr: 2,
		widest: []int{0, 8, 4, 3, 2, 2, 2}, emit: q8avx2, data: iotaData,
		doc: "an int8 AVX2 micro-kernel (VPMADDWD): MR rows by NV blocks of 8 channels, K in pairs"},
	{arch: "amd64", file: "f32_avx512_amd64.s", sym: "F32AVX512", op: "f32", isa: "avx512f", nr: 16, kr: 1,
		widest: []int{0, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, emit: f32avx512,
		doc: "a float32 AVX-512 micro-kernel: MR rows by NV panels of 16 columns"},
	{arch: "amd64", file: "f32_avx2_amd64.s", sym: "F32AVX2", op: "f32", isa: "fma3", nr: 8, kr: 1,
		widest: []int{0, 8, 2, 2, 2, 2, 2}, emit: f32avx2, data: iotaData,
		doc: "a float32 AVX2+FMA micro-kernel: MR rows by NV panels of 8 columns"},
	{arch: "arm64", file: "q8_neon_arm64.s", sym: "Q8NEON", op: "q8", isa: "neonmlal", nr: 8, kr: 16,
		widest: []int{0, 2, 1}, emit: q8neon,
		doc: "an int8 NEON micro-kernel (SMULL/SMLAL2/SADALP): MR rows by NV blocks of 8 channels, K in chunks of 16"},
	{arch: "arm64", file: "q8_neondot_arm64.s", sym: "Q8NEONDot", op: "q8", isa: "neondot", nr: 16, kr: 4,
		widest: []int{0, 4, 2, 1, 1}, emit: q8dot,
		doc: "an int8 NEON dot-product micro-kernel (SDOT by element): MR rows by NV blocks of 16 channels, K in groups of 4"},
	{arch: "arm64", file: "f32_neon_arm64.s", sym: "F32NEON", op: "f32", isa: "neonfma", nr: 4, kr: 1,
		widest: []int{0, 8, 4, 4, 4}, emit: f32neon,
		doc: "a float32 NEON micro-kernel (FMLA): MR rows by NV whole panels of 4 columns"},
}

// tiles lists the family's tiles, rows outer.
func (f family) tiles() []tile {
	var ts []tile
	for mr := 1; mr < len(f.widest); mr++ {
		if f.widest[mr] < 1 || f.widest[mr] > f.widest[mr-1] && mr > 1 {
			log.Fatalf("%s: widest[%d] = %d: must be at least 1 and not above widest[%d]", f.sym, mr, f.widest[mr], mr-1)
		}
		for nv := 1; nv <= f.widest[mr]; nv++ {
			ts = append(ts, tile{mr, nv})
		}
	}
	return ts
}

// name is a tile's kernel name as XNNPACK forms it: operation, MR x NR
// in channels, c KR when K is grouped, ISA (q8_6x64c4_avx512vnni); the
// int8 kernels' float32-output twins are q8f32_....
func (f family) name(t tile, float bool) string {
	op := f.op
	if float {
		op = "q8f32"
	}
	c := ""
	if f.kr > 1 {
		c = fmt.Sprintf("c%d", f.kr)
	}
	return fmt.Sprintf("%s_%dx%d%s_%s", op, t.mr, t.nv*f.nr, c, f.isa)
}

// generate emits the family's assembly and returns its Go declarations
// and its selectors and tile table.
func (f family) generate(write func(string, *emitter)) (decls, funcs string) {
	e := &emitter{}
	e.raw(header + "#include \"textflag.h\"\n\n")
	ts := f.tiles()
	twins := []bool{false}
	if f.op == "q8" {
		twins = append(twins, true)
	}
	for _, t := range ts {
		for _, float := range twins {
			f.emit(e, f.name(t, float), t.mr, t.nv, float)
		}
	}
	e.raw(f.data)
	write(f.file, e)
	var d, s strings.Builder
	sig := map[string]string{"q8": q8Sig, "f32": f32Sig}[f.op]
	typ := map[string]string{"q8": "Q8Kernel", "f32": "F32Kernel"}[f.op]
	d.WriteString(declare(f, ts, false, sig))
	s.WriteString(selector(f.sym, typ, f, ts, false, f.doc))
	if f.op == "q8" {
		d.WriteString(declare(f, ts, true, q8fSig))
		s.WriteString(selector(strings.Replace(f.sym, "Q8", "Q8F32", 1), "Q8FKernel", f, ts, true, "the float32-output twin of "+f.sym))
	}
	s.WriteString(f.table())
	return d.String(), s.String()
}

// table is the Go function that hands the tile table to package kernels.
func (f family) table() string {
	var w []string
	for _, n := range f.widest {
		w = append(w, fmt.Sprint(n))
	}
	return fmt.Sprintf("// %sTiles is the tile table of %s.\nfunc %sTiles() Tiles {\n\treturn Tiles{Op: %q, ISA: %q, NR: %d, KR: %d, MR: %d, Widest: [MaxMR + 1]int{%s}}\n}\n\n",
		f.sym, f.sym, f.sym, f.op, f.isa, f.nr, f.kr, len(f.widest)-1, strings.Join(w, ", "))
}

func declare(f family, ts []tile, float bool, sig string) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "//go:noescape\nfunc %s(%s)\n\n", f.name(t, float), sig)
	}
	return b.String()
}

func selector(name, typ string, f family, ts []tile, float bool, doc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s returns %s,\n// or nil for a tile not in %sTiles.\nfunc %s(mr, nv int) %s {\n\tswitch mr<<8 | nv {\n", name, doc, f.sym, name, typ)
	for _, t := range ts {
		fmt.Fprintf(&b, "\tcase %d<<8 | %d:\n\t\treturn %s\n", t.mr, t.nv, f.name(t, float))
	}
	b.WriteString("\t}\n\treturn nil\n}\n\n")
	return b.String()
}
