// Roster dashboard: keyboard, clipboard and selection conveniences. No inline
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
  // Bulk selection on the user list: the header's box selects every user
  // of the page, and the bulk form's summary says how many are selected.
  // Without this script the box stays hidden and users are ticked one by one.
  function bulkBoxes() {
    return document.querySelectorAll('input[name="id"][form="bulk-form"]');
  }
  function countSelected() {
    var boxes = bulkBoxes(), n = 0;
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) n++;
    var out = document.querySelector('[data-testid="selected-count"]');
    if (out) out.textContent = "(" + n + " selected)";
    var all = document.querySelector("input.select-all");
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches) return;
    if (t.matches("input.select-all")) {
      var boxes = bulkBoxes();
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = t.checked;
    } else if (!t.matches('input[name="id"][form="bulk-form"]')) {
      return;
    }
    countSelected();
  });
  function showSelectAll() {
    var all = document.querySelector("input.select-all");
    if (all) all.hidden = false;
    countSelected();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showSelectAll);
  else showSelectAll();
  document.addEventListener("htmx:afterSettle", showSelectAll);
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
