// Passkeys for the hosted login: runs the WebAuthn ceremony whose options
// the server put on the form (data-options, JSON as go-webauthn writes it)
// and posts the browser's answer in the form's "credential" field. Needs a
// browser with PublicKeyCredential.parse*OptionsFromJSON and toJSON.
"use strict";
document.querySelectorAll("[data-webauthn]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", async function (event) {
    event.preventDefault();
    const form = button.closest("form");
    const failed = form.querySelector(".webauthn-failed");
    const options = JSON.parse(form.dataset.options).publicKey;
    try {
      let credential;
      if (button.dataset.webauthn === "create") {
        credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
      } else {
        credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      }
      form.querySelector("[name=credential]").value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (e) {
      if (failed) { failed.hidden = false; }
    }
  });
});
