package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// printARM prints the core and the kernel hint on ARM.
func printARM(w io.Writer) {
	if runtime.GOARCH != "arm" && runtime.GOARCH != "arm64" {
		return
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if core := armCore(f); core != "" {
			fmt.Fprintf(w, "Core:     %s\n", core)
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		if h := kernelHint(runtime.GOARCH, unix.ByteSliceToString(u.Machine[:])); h != "" {
			fmt.Fprintf(w, "Note:     %s\n", h)
		}
	}
}
