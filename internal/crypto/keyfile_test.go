package crypto

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	t.Run("creates then reuses", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "sub", "masterkey")
		enc, created, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !created {
			t.Error("created = false on first call")
		}
		if _, err := ParseMasterKey(enc); err != nil {
			t.Fatalf("created key does not parse: %v", err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode = %04o, want 0600", perm)
		}
		b, _ := os.ReadFile(path)
		if string(b) != enc+"\n" {
			t.Errorf("file holds %q, want the key and a newline", b)
		}

		again, created, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if created || again != enc {
			t.Errorf("second call = %q, created %v; want the same key, not created", again, created)
		}
		leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})

	t.Run("reads an operator's key with surrounding whitespace", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "masterkey")
		want, _ := GenerateMasterKey()
		if err := os.WriteFile(path, []byte("\n"+want+"\r\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		got, created, err := LoadOrCreateKeyFile(path)
		if err != nil || created || got != want {
			t.Errorf("= %q, %v, %v; want %q, false, nil", got, created, err, want)
		}
	})

	for _, mode := range []fs.FileMode{0o640, 0o604, 0o620, 0o644} {
		t.Run("refuses mode "+mode.String(), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "masterkey")
			key, _ := GenerateMasterKey()
			if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateKeyFile(path)
			if err == nil {
				t.Fatal("LoadOrCreateKeyFile succeeded, want error")
			}
			for _, want := range []string{path, "chmod 600", "owner only"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}

	t.Run("refuses an invalid key", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "masterkey")
		if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") || strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("err = %v; want a format error that does not echo the file", err)
		}
	})

	t.Run("refuses a directory", func(t *testing.T) {
		t.Parallel()
		_, _, err := LoadOrCreateKeyFile(t.TempDir())
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want a not-a-regular-file error", err)
		}
	})
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "masterkey")
	const n = 16
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		keys    [n]string
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], created[i], errs[i] = LoadOrCreateKeyFile(path)
		})
	}
	close(start)
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Fatalf("goroutine %d got a different key than goroutine 0", i)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report creating the file, want 1", creators)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(onDisk)) != keys[0] {
		t.Errorf("file holds %q (err %v), want the returned key", onDisk, err)
	}
}
