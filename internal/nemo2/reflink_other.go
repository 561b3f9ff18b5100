//go:build !linux

package nemo2

import "os"

func reflink(dst, src *os.File) error { return errNoReflink }
