//go:build !linux

package main

import "io"

// printARM prints nothing: the core names and the kernel hint are read
// from Linux.
func printARM(io.Writer) {}
