package kernels

import "unsafe"

// addrOf returns the address of b's first element, for alignment only.
func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
