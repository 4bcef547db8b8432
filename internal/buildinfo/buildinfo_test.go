package buildinfo

import "testing"

func TestMajor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"v1.2.3": 1, "0.4.0": 0, "v12.0.0-rc.1": 12, "v0.1.0-dev": 0, "": -1, "vx.1": -1, "v-1.0": -1,
	} {
		if got := Major(in); got != want {
			t.Errorf("Major(%q) = %d, want %d", in, got, want)
		}
	}
}
