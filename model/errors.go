package model

import "errors"

// Errors that Read wraps (test them with errors.Is), and that a model's
// sections wrap (ErrTooNew).
var (
	// ErrNotModel: the data are not an edge model file.
	ErrNotModel = errors.New("not an edge model file")
	// ErrTooNew: the file, or a section of it, was written by a newer
	// edge than this one; update edge.
	ErrTooNew = errors.New("written by a newer edge than this one (update edge)")
	// ErrTruncated: the file ends before its declared end.
	ErrTruncated = errors.New("truncated")
	// ErrChecksum: the file's data do not match its checksum.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrLimit: the file declares more than this edge accepts (see
	// MaxHeaderBytes, MaxFileBytes and the architecture's limits).
	ErrLimit = errors.New("beyond the limit")
)
