// The image viewer over any page: a link to an image's page (/images/<id>/) opens the viewer in the overlay of
// base.html over htmx (library/image_detail.html#viewer) and the address becomes the image's own. ← → load the
// neighbours in place (the address follows), Esc, the close button or Back close it and the address returns.
// Opened by its address, middle-clicked or without JavaScript, the same viewer is a page of its own.
(function () {
  "use strict";
  var overlay = document.getElementById("viewer-overlay");
  var body = document.getElementById("viewer-body");
  if (!overlay || !body) return;  // htmx (deferred) is looked for when an image is opened
  var IMAGE_PATH = /^\/images\/\d+\/$/;
  var returnFocus = null;
  var pushed = false;  // the viewer added a history entry, which Back (or closing) takes away
  var loading = false;
  var pageTitle = null;  // the page's own title, back when the viewer closes

  function isOpen() { return !overlay.hidden; }

  function imageUrl(link) {
    if (!link || link.hasAttribute("data-no-viewer") || link.hasAttribute("download") || (link.target && link.target !== "_self")) return null;
    var url;
    try { url = new URL(link.href, window.location.href); } catch (e) { return null; }
    if (url.origin !== window.location.origin || !IMAGE_PATH.test(url.pathname)) return null;
    // The full-page viewer keeps its own links (its previous / next are plain pages).
    var page = link.closest(".image-viewer");
    if (page && !overlay.contains(page)) return null;
    return url.pathname + url.search;
  }

  function show() {
    if (isOpen()) return;
    returnFocus = document.activeElement;
    pageTitle = document.title;
    overlay.hidden = false;
    document.documentElement.classList.add("viewer-open");
  }

  function hide() {
    if (!isOpen()) return;
    overlay.hidden = true;
    body.innerHTML = "";
    if (pageTitle !== null) document.title = pageTitle;
    document.documentElement.classList.remove("viewer-open");
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus({ preventScroll: true });
    returnFocus = null;
  }

  function load(url, how) {  // how: "replace" the address, or "none"
    if (loading) return Promise.resolve();
    loading = true;
    var spinner = overlay.querySelector("[data-viewer-loading]");
    spinner.hidden = false;
    var path = url.split("?")[0];
    return htmx.ajax("GET", url, { target: "#viewer-body", swap: "innerHTML" }).then(function () {
      var viewer = body.querySelector(".image-viewer");
      if (!viewer || viewer.dataset.self !== path) {
        // Not answered (a 404 for an image one may not see, or no connection): the message comes from
        // htmx-errors.js; a viewer that was not there yet closes.
        if (!viewer) { if (pushed) { pushed = false; history.back(); } else { hide(); } }
        return;
      }
      // The page's own collection dialog is used when it has one (one #collect on the page).
      var own = document.querySelectorAll("#collect");
      if (own.length > 1 && body.contains(own[own.length - 1])) own[own.length - 1].remove();
      overlay.querySelector("[data-viewer-page]").href = url;
      var heading = viewer.querySelector("h1");
      if (heading && pageTitle !== null) document.title = heading.textContent.trim() + " · " + pageTitle.split(" · ").pop();
      if (how === "replace") history.replaceState({ viewer: url }, "", url);
      var close = overlay.querySelector("[data-viewer-close]");
      if (!overlay.contains(document.activeElement) || document.activeElement === body) close.focus({ preventScroll: true });
      overlay.scrollTop = 0;
    }).finally(function () { loading = false; spinner.hidden = true; });
  }

  function open(url) {
    if (isOpen()) return load(url, "replace");
    show();
    // The address changes at once (Back closes even a viewer still loading); a failed load takes it back.
    history.pushState({ viewer: url }, "", url);
    pushed = true;
    return load(url, "none");
  }

  function close() {
    if (!isOpen()) return;
    if (pushed) { pushed = false; history.back(); }  // popstate hides it, at the address it was opened from
    else hide();
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    if (event.target.closest("[data-viewer-close]")) { close(); return; }
    var link = event.target.closest("a[href]");
    var url = imageUrl(link);
    if (!url || !window.htmx) return;  // htmx not there yet: the plain page
    event.preventDefault();
    open(url);
  });

  window.addEventListener("popstate", function (event) {
    var state = event.state;
    if (state && state.viewer && window.htmx) { show(); pushed = true; load(state.viewer, "none"); }
    else if (isOpen()) { pushed = false; hide(); }
  });

  // Focus stays in the viewer (Tab wraps; aria-modal tells assistive technology). The page behind is not made inert:
  // the page's own collection dialog, which the viewer's "Add to collection" opens, lives there.
  function focusable() {
    return Array.prototype.filter.call(
      overlay.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.offsetParent !== null && !el.closest(".modal:not(.show)"); });
  }

  document.addEventListener("keydown", function (event) {
    // The collection dialog handles its own keys (its Escape closes it, not the viewer).
    if (!isOpen() || document.querySelector(".modal.show") || event.target.closest(".modal")) return;
    if (event.key === "Tab") {
      var items = focusable();
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && (document.activeElement === first || !overlay.contains(document.activeElement))) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
      return;
    }
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    var viewer = body.querySelector(".image-viewer");
    if (!viewer) return;
    var target = { ArrowLeft: viewer.dataset.prev, ArrowRight: viewer.dataset.next }[event.key];
    if (target) { event.preventDefault(); load(target, "replace"); }
  });
})();
