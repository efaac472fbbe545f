/* GreenRunner: no message typed before the chat is ready can be lost.
 *
 * Chainlit 2.12's page shows the message box before it can send: with the local header login the first page load goes
 * / -> /login -> (header login) -> / -> a full reload of /login -> /, so a box appears in a page that is then thrown
 * away, and until the socket session is up the composer drops Enter. Anything typed or sent there was lost without a
 * word. So the box stays hidden, with "Connecting to GreenRunner…" in its place, until the server says the
 * conversation has started: ui/web_ready.py sends READY through Chainlit's window message (a postMessage to this
 * window) at the end of on_chat_start / on_chat_resume. Served from public/ as Chainlit's `custom_js`.
 *
 * The same holds for every later session of an open page: "New chat", opening another thread, or a reconnect after a
 * network drop or a server restart. Each of them closes the page's socket (Chainlit's socket.io WebSocket): the box
 * is hidden again at that close. While it is hidden the page asks the server (ASK, a window message Chainlit
 * forwards) every second whether its chat has started; the server answers READY once it has (also a session that
 * merely reconnected, where Chainlit runs no on_chat_start again).
 */
(function () {
  "use strict";
  var READY = "greenrunner:chat-ready";   // ui/web_ready.py READY_MESSAGE
  var ASK = "greenrunner:chat-ready?";    // ui/web_ready.py ASK_MESSAGE
  var FALLBACK_MS = 20000;                // never hide the box for good if the signal is lost (logged)
  var ASK_MS = 1000;
  var ATTR = "data-greenrunner-ready";
  var root = document.documentElement;
  if (window.parent !== window) return;   // embedded: Chainlit posts window messages to the host page, not here

  var style = document.createElement("style");
  style.textContent =
    "html:not([data-greenrunner-ready]) #chat-input { visibility: hidden; }\n" +
    "html:not([data-greenrunner-ready]) #message-composer { position: relative; }\n" +
    "html:not([data-greenrunner-ready]) #message-composer::before { content: 'Connecting to GreenRunner…';" +
    " position: absolute; left: 1rem; top: 0.9rem; opacity: 0.6; pointer-events: none; }\n" +
    // a step's label is its name alone (our translation leaves Chainlit's "Using"/"Used" empty): no empty gap before it
    "[id^='step-'] > span:empty { display: none; }\n";
  document.head.appendChild(style);

  var fallback = null;
  var asking = null;

  function ready(how) {
    if (root.hasAttribute(ATTR)) return;
    clearTimeout(fallback);
    clearInterval(asking);
    root.setAttribute(ATTR, how);
    var input = document.getElementById("chat-input");
    if (input && (document.activeElement === null || document.activeElement === document.body)) input.focus();
  }

  function wait() {                       // a session is (re)starting: hide the box until the server says it is ready
    root.removeAttribute(ATTR);
    clearTimeout(fallback);
    clearInterval(asking);
    fallback = setTimeout(function () {
      if (!root.hasAttribute(ATTR)) {
        console.warn("GreenRunner: no chat-ready signal after " + FALLBACK_MS / 1000 + " s; showing the message box");
        ready("timeout");
      }
    }, FALLBACK_MS);
    asking = setInterval(function () { window.postMessage(ASK, window.location.origin); }, ASK_MS);
  }

  window.addEventListener("message", function (event) {
    if (event.source === window && event.data === READY) ready("signal");
  });

  // Chainlit's socket.io client takes window.WebSocket when its bundle loads, after this (synchronous) script
  var NativeWebSocket = window.WebSocket;
  if (typeof NativeWebSocket === "function") {
    window.WebSocket = class extends NativeWebSocket {
      constructor(url, protocols) {
        super(url, protocols);
        if (String(url).indexOf("/socket.io/") !== -1) this.addEventListener("close", wait);
      }
    };
  }
  wait();
})();
