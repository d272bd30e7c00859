// Roster dashboard: two keyboard and clipboard conveniences. No inline
// scripts (the CSP allows only files from this server).
(function () {
  "use strict";
  // "/" focuses the page's search box, as in most admin tools, unless the
  // admin is typing in a field.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.querySelector('input[type="search"]');
    if (!box) return;
    e.preventDefault();
    box.focus();
    box.select();
  });
  // A phone number is shown as people write it; copying it gives the E.164
  // form that other tools take.
  document.addEventListener("copy", function (e) {
    var sel = document.getSelection();
    if (!sel || sel.rangeCount === 0 || !e.clipboardData) return;
    var node = sel.getRangeAt(0).commonAncestorContainer;
    var el = node.nodeType === 1 ? node : node.parentElement;
    var phone = el && el.closest ? el.closest(".phone[data-e164]") : null;
    if (!phone) return;
    e.clipboardData.setData("text/plain", phone.getAttribute("data-e164"));
    e.preventDefault();
  });
})();
