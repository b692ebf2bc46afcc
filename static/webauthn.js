// Passkeys in the browser: JSON <-> ArrayBuffer conversion for WebAuthn, conditional
// mediation (autofill) on the login page, the "Sign in with a passkey" button, and
// "Create a passkey". No dependencies; errors are put in words a person understands.
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    var o = json.publicKey;
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }

  function requestOptions(json) {
    var o = json.publicKey;
    o.challenge = toBytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }

  function registrationJson(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      }
    };
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      }
    };
  }

  // What a DOMException from the authenticator means for the person.
  function explain(err) {
    if (err && err.message && !err.name) return err.message;
    switch (err && err.name) {
      case "NotAllowedError": return "The request timed out or was cancelled. Please try again.";
      case "InvalidStateError": return "This passkey is already registered on your account.";
      case "SecurityError": return "Passkeys cannot be used on this address.";
      case "NotSupportedError": return "This browser or device does not support passkeys.";
      case "AbortError": return "The request was cancelled.";
      default: return (err && err.message) || "Something went wrong. Please try again.";
    }
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().then(function (data) {
        // A change of sign-in methods needs a fresh proof first: go and give it, then come back.
        if (res.status === 403 && data.step_up) window.location.assign(data.step_up);
        if (!res.ok) throw new Error(data.error || "Something went wrong. Please try again.");
        return data;
      });
    });
  }

  function show(el, message) {
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  // Sign in: the login page.
  var login = document.getElementById("passkey-login");
  if (login) {
    var csrf = login.getAttribute("data-csrf"), authz = login.getAttribute("data-authz") || "";
    var errorBox = document.getElementById("passkey-error");
    var button = document.getElementById("passkey-button");
    var pending = null;

    var signIn = function (mediation) {
      if (pending) pending.abort();
      var controller = new AbortController();
      pending = controller;
      return post("/passkey/sign-in/start", csrf).then(function (json) {
        var options = { publicKey: requestOptions(json), signal: controller.signal };
        if (mediation) options.mediation = mediation;
        return navigator.credentials.get(options);
      }).then(function (cred) {
        var remember = document.getElementById("remember");
        return post("/passkey/sign-in/finish", csrf, {
          credential: assertionJson(cred), authz: authz, remember: !!(remember && remember.checked)
        });
      }).then(function (done) {
        window.location.assign(done.redirect);
      });
    };

    if (!supported) {
      if (button) button.hidden = true;
    } else {
      if (button) {
        button.hidden = false;
        button.addEventListener("click", function () {
          errorBox.hidden = true;
          signIn(null).catch(function (err) { if (err.name !== "AbortError") show(errorBox, explain(err)); });
        });
      }
      // Conditional mediation: offer saved passkeys in the email field's autofill.
      if (PublicKeyCredential.isConditionalMediationAvailable) {
        PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
          if (!yes) return;
          // The person did not ask for this one: a failure is not theirs to read about,
          // except a refusal from Tessera (e.g. "This passkey is not registered here").
          signIn("conditional").catch(function (err) {
            if (!err.name) show(errorBox, explain(err));
          });
        });
      }
    }
  }

  // Create a passkey: the offer after an email sign-in, and the account page.
  var offer = document.getElementById("passkey-offer");
  if (offer) {
    var create = document.getElementById("passkey-create");
    var offerError = document.getElementById("passkey-error");
    if (!supported) {
      create.hidden = true;
      show(offerError, "This browser or device does not support passkeys.");
    }
    create.addEventListener("click", function () {
      offerError.hidden = true;
      create.disabled = true;
      var token = offer.getAttribute("data-csrf");
      post("/passkey/register/start", token).then(function (json) {
        return navigator.credentials.create({ publicKey: creationOptions(json) });
      }).then(function (cred) {
        return post("/passkey/register/finish", token, { credential: registrationJson(cred) });
      }).then(function () {
        window.location.assign(offer.getAttribute("data-next"));
      }).catch(function (err) {
        create.disabled = false;
        show(offerError, explain(err));
      });
    });
  }
})();
