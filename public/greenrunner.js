/* GreenRunner: no message typed before the chat is ready can be lost.
 *
 * Chainlit 2.12's page shows the message box before it can send: with the local header login the first page load goes
 * / -> /login -> (header login) -> / -> a full reload of /login -> /, so a box appears in a page that is then thrown
 * away, and until the socket session is up the composer drops Enter. Anything typed or sent there was lost without a
 * word. So the box stays hidden, with "Connecting to GreenRunner…" in its place, until the server says the
 * conversation has started: ui/web_ready.py sends READY through Chainlit's window message (a postMessage to this
 * window) at the end of on_chat_start / on_chat_resume. Served from public/ as Chainlit's `custom_js`.
 */
(function () {
  "use strict";
  var READY = "greenrunner:chat-ready";   // ui/web_ready.py READY_MESSAGE
  var FALLBACK_MS = 20000;                // never hide the box for good if the signal is lost (logged)
  var root = document.documentElement;
  if (window.parent !== window) return;   // embedded: Chainlit posts window messages to the host page, not here

  var style = document.createElement("style");
  style.textContent =
    "html:not([data-greenrunner-ready]) #chat-input { visibility: hidden; }\n" +
    "html:not([data-greenrunner-ready]) #message-composer { position: relative; }\n" +
    "html:not([data-greenrunner-ready]) #message-composer::before { content: 'Connecting to GreenRunner…';" +
    " position: absolute; left: 1rem; top: 0.9rem; opacity: 0.6; pointer-events: none; }\n";
  document.head.appendChild(style);

  function ready(how) {
    if (root.hasAttribute("data-greenrunner-ready")) return;
    root.setAttribute("data-greenrunner-ready", how);
    var input = document.getElementById("chat-input");
    if (input && (document.activeElement === null || document.activeElement === document.body)) input.focus();
  }

  window.addEventListener("message", function (event) {
    if (event.source === window && event.data === READY) ready("signal");
  });
  setTimeout(function () {
    if (!root.hasAttribute("data-greenrunner-ready")) {
      console.warn("GreenRunner: no chat-ready signal after " + FALLBACK_MS / 1000 + " s; showing the message box");
      ready("timeout");
    }
  }, FALLBACK_MS);
})();
