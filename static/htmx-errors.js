// An htmx request answered 4xx/5xx, or not answered at all, says so (htmx swaps nothing then, and shows nothing).
// The answer's own message is shown when it has one (our 400/403/404 fragments and pages carry one).
(function () {
  "use strict";

  function fallback(status) {
    switch (status) {
      case 400: return gettext("This request could not be used. Reload the page and try again.");
      case 403: return gettext("You are not allowed to do this.");
      case 404: return gettext("This is no longer there: reload the page.");
      case 405: return gettext("This action is not available here: reload the page.");
      default: return "";
    }
  }

  function messageOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = "";
    if (type.indexOf("html") !== -1 && xhr.responseText) {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var found = doc.querySelector("main [role=alert], .empty-state p, [role=alert]");
      text = found ? found.textContent : "";
    } else if (type.indexOf("text/plain") !== -1) {
      text = xhr.responseText || "";
    }
    text = text.replace(/\s+/g, " ").trim();
    if (text && text.length <= 300) return text;
    if (xhr.status >= 500) {
      return interpolate(gettext("Something went wrong on our side (error %(status)s). Try again in a moment."),
                         { status: xhr.status }, true);
    }
    return fallback(xhr.status) || interpolate(gettext("The request was refused (error %(status)s)."),
                                               { status: xhr.status }, true);
  }

  function show(text) {
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "htmx-error";
      box.className = "alert alert-danger alert-dismissible shadow position-fixed bottom-0 end-0 m-3 py-2";
      box.style.zIndex = "1090";
      box.style.maxWidth = "28rem";
      box.setAttribute("role", "alert");
      var message = document.createElement("span");
      message.setAttribute("data-message", "");
      var close = document.createElement("button");
      close.type = "button";
      close.className = "btn-close py-2";
      close.setAttribute("aria-label", gettext("Close"));
      close.addEventListener("click", function () { box.remove(); });
      box.appendChild(message);
      box.appendChild(close);
      document.body.appendChild(box);
    }
    box.querySelector("[data-message]").textContent = text;
  }

  document.addEventListener("htmx:responseError", function (event) {
    show(messageOf(event.detail.xhr));
  });
  document.addEventListener("htmx:sendError", function () {
    show(gettext("The dashboard could not be reached. Check your connection, then try again."));
  });
})();
