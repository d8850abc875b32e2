module github.com/edgeml/edge/kernels/asm/_gen

go 1.26
