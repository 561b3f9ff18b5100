//go:build !linux

package outdir

import (
	"fmt"
	"io/fs"
	"os"
)

// renameNoReplace renames old to new unless new exists. Without an atomic
// no-replace rename the check and the rename can race, but rename(2)
// cannot replace a non-empty directory, so no output is lost.
func renameNoReplace(old, new string) error {
	if _, err := os.Lstat(new); err == nil {
		return fmt.Errorf("rename %s %s: %w", old, new, fs.ErrExist)
	}
	return os.Rename(old, new)
}
