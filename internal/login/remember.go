package login

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
)

// deviceCookie remembers, for the login policy's MFARememberDevice, that a
// user passed the second step in this browser: later sign-ins of that user
// here need only the password. Its value is sealed with the master key and
// bound to the user and instance, so it is useless to anyone else and
// cannot be forged; it never replaces the password.
const deviceCookie = "rampart_mfa_device"

type rememberedDevice struct {
	UserID  string    `json:"u"`
	Expires time.Time `json:"e"`
}

func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, instanceID string, u *iam.User) {
	lp := h.orgPolicies(r.Context(), instanceID, u.OrgID).Login
	if lp.MFARememberDevice <= 0 || h.o.Keyring == nil {
		return
	}
	exp := h.now().Add(lp.MFARememberDevice)
	raw, _ := json.Marshal(rememberedDevice{UserID: u.ID, Expires: exp})
	sealed, err := h.o.Keyring.Encrypt(raw, []byte("mfa-device:"+instanceID))
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/ui/", Expires: exp,
		HttpOnly: true, Secure: h.o.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// deviceRemembered reports whether this browser passed u's second step
// within the policy's MFARememberDevice.
func (h *Handler) deviceRemembered(r *http.Request, instanceID string, u *iam.User, lp *iam.LoginPolicy) bool {
	if lp.MFARememberDevice <= 0 || h.o.Keyring == nil {
		return false
	}
	c, err := r.Cookie(deviceCookie)
	if err != nil || len(c.Value) > 1024 {
		return false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return false
	}
	raw, err := h.o.Keyring.Decrypt(sealed, []byte("mfa-device:"+instanceID))
	if err != nil {
		return false
	}
	var d rememberedDevice
	if json.Unmarshal(raw, &d) != nil || d.UserID != u.ID {
		return false
	}
	// The policy may have shortened the period since the cookie was set.
	now := h.now()
	return now.Before(d.Expires) && d.Expires.Sub(now) <= lp.MFARememberDevice
}
