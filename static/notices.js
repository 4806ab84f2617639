// Notices polled by htmx (issue #13: finished batches and sweeps): each new one, once per browser, becomes a
// toast and, when the member allowed it, a browser notification. A root is marked data-notices-root, with
// data-notices-key (where the ids already shown are kept) and data-notices-tag (the notifications' tag prefix);
// each notice has data-notice (its id), data-notice-title, data-notice-body, data-notice-url, and the class
// notice-failed or notice-partial for the toast's colour.
(function () {
  "use strict";

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function shownIds(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }

  function toastBox() {
    var box = document.getElementById("notice-toasts");
    if (!box) {
      box = element("div", "toast-container position-fixed bottom-0 end-0 p-3");
      box.id = "notice-toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function toast(notice) {
    var failed = notice.classList.contains("notice-failed");
    var partial = notice.classList.contains("notice-partial");
    var colour = failed ? "text-bg-danger" : partial ? "text-bg-warning" : "text-bg-success";
    var el = element("div", "toast align-items-center border-0 " + colour);
    el.setAttribute("role", failed ? "alert" : "status");
    el.dataset.toastFor = notice.dataset.notice;
    var row = element("div", "d-flex");
    var body = element("div", "toast-body");
    var link = element("a", (partial ? "link-dark" : "link-light") + " fw-semibold", notice.dataset.noticeTitle);
    link.href = notice.dataset.noticeUrl;
    body.appendChild(link);
    if (notice.dataset.noticeBody) body.appendChild(element("div", "small", notice.dataset.noticeBody));
    row.appendChild(body);
    var close = element("button", "btn-close me-2 m-auto" + (partial ? "" : " btn-close-white"));
    close.type = "button";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", gettext("Close"));
    row.appendChild(close);
    el.appendChild(row);
    toastBox().appendChild(el);
    if (window.bootstrap) new window.bootstrap.Toast(el, { delay: 10000 }).show();
  }

  function browserNotify(notice, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var note = new Notification(notice.dataset.noticeTitle, { body: notice.dataset.noticeBody, tag: tag + notice.dataset.notice });
      note.onclick = function () { window.focus(); window.location.href = notice.dataset.noticeUrl; };
    } catch (e) { /* some browsers allow notifications from a service worker only */ }
  }

  function showNotices() {
    document.querySelectorAll("[data-notices-root]").forEach(function (root) {
      var key = root.dataset.noticesKey || "miaohua.noticesShown";
      var shown = shownIds(key);
      root.querySelectorAll("[data-notice]").forEach(function (notice) {
        var id = notice.dataset.notice;
        if (shown.indexOf(id) !== -1) return;
        shown.push(id);
        toast(notice);
        browserNotify(notice, root.dataset.noticesTag || "notice-");
      });
      try { localStorage.setItem(key, JSON.stringify(shown.slice(-200))); } catch (e) { /* private mode */ }
    });
    document.querySelectorAll("[data-notify-permission]").forEach(function (ask) {
      ask.hidden = !("Notification" in window) || Notification.permission !== "default";
    });
  }

  document.addEventListener("click", function (event) {
    var ask = event.target.closest("[data-notify-permission]");
    if (!ask || !("Notification" in window)) return;
    Notification.requestPermission().then(showNotices);
  });

  // The notices' panel stays open or closed across the polls that redraw it (and across pages, in this tab).
  var PANEL_KEY = "miaohua.noticesPanelOpen";
  function restorePanels() {
    var open = false;
    try { open = sessionStorage.getItem(PANEL_KEY) === "1"; } catch (e) { /* private mode */ }
    document.querySelectorAll("[data-notices-panel]").forEach(function (panel) { panel.open = open; });
  }
  document.addEventListener("toggle", function (event) {
    if (!event.target.matches || !event.target.matches("[data-notices-panel]")) return;
    try { sessionStorage.setItem(PANEL_KEY, event.target.open ? "1" : "0"); } catch (e) { /* private mode */ }
  }, true);

  document.addEventListener("htmx:afterSettle", function () { restorePanels(); showNotices(); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { restorePanels(); showNotices(); });
  else { restorePanels(); showNotices(); }
})();
