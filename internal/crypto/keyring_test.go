package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func newKey(t testing.TB) *Key {
	t.Helper()
	s, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseMasterKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	kr := NewKeyring(newKey(t))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{name: "empty plaintext, no aad", plaintext: nil},
		{name: "short", plaintext: []byte("hello"), aad: []byte("users/42/totp")},
		{name: "binary", plaintext: bytes.Repeat([]byte{0, 1, 2, 255}, 1000), aad: []byte{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, err := kr.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(ct), len(tt.plaintext)+97; got != want {
				t.Errorf("len(ciphertext) = %d, want %d", got, want)
			}
			if len(tt.plaintext) > 4 && bytes.Contains(ct, tt.plaintext) {
				t.Error("ciphertext contains the plaintext")
			}
			got, err := kr.Decrypt(ct, tt.aad)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Decrypt = %q, want %q", got, tt.plaintext)
			}
			if got == nil {
				t.Error("Decrypt returned nil plaintext, want non-nil")
			}
			again, err := kr.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, ct) {
				t.Error("two encryptions of the same plaintext are identical")
			}
		})
	}
}

func TestDecryptFailures(t *testing.T) {
	t.Parallel()
	kr := NewKeyring(newKey(t))
	ct, err := kr.Encrypt([]byte("secret payload"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	withByte := func(i int, b byte) []byte {
		c := bytes.Clone(ct)
		c[i] = b
		return c
	}
	tests := []struct {
		name string
		ct   []byte
		aad  []byte
		want error
	}{
		{name: "aad mismatch", ct: ct, aad: []byte("other"), want: ErrAuthentication},
		{name: "aad missing", ct: ct, aad: nil, want: ErrAuthentication},
		{name: "empty", ct: nil, aad: []byte("aad"), want: ErrMalformed},
		{name: "truncated header", ct: ct[:5], aad: []byte("aad"), want: ErrMalformed},
		{name: "truncated tag", ct: ct[:len(ct)-len("secret payload")-1], aad: []byte("aad"), want: ErrMalformed},
		{name: "truncated payload", ct: ct[:len(ct)-1], aad: []byte("aad"), want: ErrAuthentication},
		{name: "extended", ct: append(bytes.Clone(ct), 0), aad: []byte("aad"), want: ErrAuthentication},
		{name: "unknown version", ct: withByte(0, 2), aad: []byte("aad"), want: ErrMalformed},
		{name: "unknown key", ct: withByte(1, ct[1]^0xff), aad: []byte("aad"), want: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := kr.Decrypt(tt.ct, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt = %q, %v; want error %v", got, err, tt.want)
			}
		})
	}
}

func TestTamperEveryByte(t *testing.T) {
	t.Parallel()
	kr := NewKeyring(newKey(t))
	aad := []byte("row 7")
	ct, err := kr.Encrypt([]byte("tamper with me"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		for _, mask := range []byte{0x01, 0x80} {
			c := bytes.Clone(ct)
			c[i] ^= mask
			if got, err := kr.Decrypt(c, aad); err == nil {
				t.Fatalf("flipping bit %#x of byte %d: Decrypt = %q, want error", mask, i, got)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKeyV := newKey(t), newKey(t)
	before := NewKeyring(oldKey)
	ct, err := before.Encrypt([]byte("written before rotation"), []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}

	after := NewKeyring(newKeyV, oldKey)
	if after.CurrentKeyID() != newKeyV.ID() {
		t.Errorf("CurrentKeyID() = %s, want %s", after.CurrentKeyID(), newKeyV.ID())
	}
	got, err := after.Decrypt(ct, []byte("ctx"))
	if err != nil {
		t.Fatalf("decrypting old ciphertext after rotation: %v", err)
	}
	if string(got) != "written before rotation" {
		t.Errorf("Decrypt = %q", got)
	}

	fresh, err := after.Encrypt([]byte("written after rotation"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := before.Decrypt(fresh, nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old keyring decrypting new ciphertext: err = %v, want ErrUnknownKey", err)
	}

	dropped := NewKeyring(newKeyV)
	_, err = dropped.Decrypt(ct, []byte("ctx"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(oldKey.ID())) {
		t.Errorf("error %q does not name the missing key ID %s", err, oldKey.ID())
	}
}

func TestDeriveKey(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	kr, same := NewKeyring(k), NewKeyring(k, newKey(t))
	a, b := kr.DeriveKey("token-hmac"), kr.DeriveKey("cookie")
	if len(a) != 32 || len(b) != 32 {
		t.Fatalf("lengths %d, %d; want 32", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Error("different purposes gave the same subkey")
	}
	if !bytes.Equal(a, same.DeriveKey("token-hmac")) {
		t.Error("same key and purpose gave different subkeys")
	}
	if bytes.Equal(a, k.key[:]) {
		t.Error("subkey equals the master key")
	}
	if bytes.Equal(a, NewKeyring(newKey(t)).DeriveKey("token-hmac")) {
		t.Error("different master keys gave the same subkey")
	}
}

func FuzzDecrypt(f *testing.F) {
	kr := NewKeyring(newKey(f), newKey(f))
	valid := map[string]string{} // ciphertext -> plaintext
	for _, pt := range []string{"", "x", "a longer plaintext of some bytes"} {
		ct, err := kr.Encrypt([]byte(pt), []byte("aad"))
		if err != nil {
			f.Fatal(err)
		}
		valid[string(ct)] = pt
		f.Add(ct, []byte("aad"))
		f.Add(ct[:len(ct)/2], []byte("aad"))
		f.Add(ct, []byte{})
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{formatV1}, []byte("aad"))
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		got, err := kr.Decrypt(ct, aad)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuthentication) {
				t.Fatalf("Decrypt error %v is none of the documented kinds", err)
			}
			return
		}
		pt, ok := valid[string(ct)]
		if !ok || string(aad) != "aad" || string(got) != pt {
			t.Fatalf("Decrypt accepted a forged ciphertext: %x (aad %q) -> %q", ct, aad, got)
		}
	})
}
