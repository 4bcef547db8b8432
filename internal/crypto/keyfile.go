package crypto

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LoadOrCreateKeyFile returns the master key stored in the file at path,
// creating the file with a new key (mode 0600, parent directories 0700) if it
// does not exist. created reports whether this call created it.
//
// Creation is atomic and exclusive: the key is written to a temporary file
// in the same directory, synced, and hard-linked into place, which fails if
// path already exists. Several processes or goroutines starting at once
// therefore end up with one key: the losers read the winner's file. On file
// systems without hard links it falls back to an O_EXCL create.
//
// An existing file must hold a valid key and must not be accessible by group
// or others; otherwise LoadOrCreateKeyFile returns an error saying how to fix
// it. Errors never contain the key.
func LoadOrCreateKeyFile(path string) (encoded string, created bool, err error) {
	if path == "" {
		return "", false, errors.New("master key file: empty path")
	}
	encoded, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return encoded, false, err
	}

	encoded, err = GenerateMasterKey()
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("master key file: create directory: %w", err)
	}
	err = createExclusive(path, []byte(encoded+"\n"))
	if errors.Is(err, fs.ErrExist) {
		// Someone else created it first; theirs wins.
		encoded, err = readKeyFile(path)
		return encoded, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("master key file %s: %w", path, err)
	}
	return encoded, true, nil
}

// readKeyFile reads and checks an existing key file. The returned error wraps
// fs.ErrNotExist when the file does not exist.
func readKeyFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("master key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("master key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("master key file %s must be accessible by its owner only, but its mode is %04o; fix it with `chmod 600 %s`", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("master key file: %w", err)
	}
	encoded := strings.TrimSpace(string(b))
	if _, err := ParseMasterKey(encoded); err != nil {
		return "", fmt.Errorf("master key file %s: %w", path, err)
	}
	return encoded, nil
}

// createExclusive creates path holding data, failing with an error wrapping
// fs.ErrExist if path exists. Readers never see a partly written file.
func createExclusive(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if rmErr := os.Remove(tmpName); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove temporary file: %w", rmErr)
		}
	}()
	if err := writeSync(tmp, data); err != nil {
		return err
	}

	linkErr := os.Link(tmpName, path)
	switch {
	case linkErr == nil:
	case errors.Is(linkErr, fs.ErrExist):
		return linkErr
	default:
		// No hard links here (some network or FUSE file systems): create
		// the file exclusively and write it in place.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if err := writeSync(f, data); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeSync writes data to f, syncs and closes it.
func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return nil
}

// syncDir makes a new directory entry durable. Failure to open or sync a
// directory (unsupported on some platforms) is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil //nolint:nilerr // best effort
	}
	_ = d.Sync()
	return d.Close()
}
