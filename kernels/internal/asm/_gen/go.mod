module github.com/edgeml/edge/kernels/internal/asm/_gen

go 1.26
