package nemo2

import (
	"fmt"
	"os"
	"path/filepath"
)

// createSynced creates the new file name (it must not exist yet), writes it
// with fill and syncs it to disk before closing it.
func createSynced(name string, fill func(*os.File) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return fillSynced(f, name, fill)
}

// createAtomic is createSynced for a file whose presence means the
// checkpoint is complete (the weights' metadata.json): it is written under
// a temporary name and renamed, so a kill mid-write never leaves a
// truncated one under the real name.
func createAtomic(name string, fill func(*os.File) error) error {
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err := createSynced(tmp, fill); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// fillSynced writes f with fill, syncs it to disk and closes it, so that
// once a checkpoint's directory is synced its files' contents are on disk
// too. Errors give the file as name; f is closed whatever fails.
func fillSynced(f *os.File, name string, fill func(*os.File) error) error {
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	return f.Close()
}

// writeData is a fill for createSynced and fillSynced that writes data.
func writeData(data []byte) func(*os.File) error {
	return func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}
}

// syncDir syncs a directory, so that the names just created in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
