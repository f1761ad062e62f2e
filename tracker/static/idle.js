// The warning before the idle limit: shown two minutes before the session would end, with
// "Stay signed in", which tells the server the session is in use. Pages work without it: the
// warning stays hidden, and a form sent after the limit is kept and shown again after sign-in.
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var form = box.querySelector("form");
  var text = document.getElementById("idle-warning-text");
  var idleSeconds = Number(box.getAttribute("data-idle-seconds")) || 900;
  var warnSeconds = Math.min(120, Math.floor(idleSeconds / 2));
  var timer = null;

  function ended() {
    // A page in another language gives its own words (the patient portal's Spanish).
    text.textContent = box.getAttribute("data-ended-text") ||
      "Your session has ended. Sign in again: a form you send now is kept " +
      "and shown to you again after you sign in.";
    form.hidden = true;
  }

  function warn() {
    box.hidden = false;
    form.querySelector("button").focus();
    timer = window.setTimeout(ended, warnSeconds * 1000);
  }

  function schedule(seconds) {
    window.clearTimeout(timer);
    box.hidden = true;
    timer = window.setTimeout(warn, Math.max(0, seconds - warnSeconds) * 1000);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (answer) {
      if (!answer.ok || answer.redirected) { ended(); return null; }
      return answer.json();
    }).then(function (data) {
      if (data) { schedule(data.idle_seconds); }
    }).catch(ended);
  });

  schedule(idleSeconds);
}());
