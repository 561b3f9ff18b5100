//go:build !unix

package main

import "os"

// termWidth returns 0: the width is not known here; COLUMNS or 80 is used.
func termWidth(*os.File) int { return 0 }
