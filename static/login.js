// The "check your mail" page: when the sign-in is approved on another device, continue here.
(function () {
  "use strict";
  var form = document.getElementById("finish");
  if (!form) return;
  var stopped = false;
  function poll() {
    if (stopped) return;
    fetch("/login/email/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === "approved") { stopped = true; form.submit(); return; }
        if (s.status === "gone") {
          stopped = true;
          document.getElementById("waiting").textContent = "This sign-in has ended: it expired, or was stopped on another device. Ask for a new mail.";
          return;
        }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
