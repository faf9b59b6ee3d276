/* Dash 4's dcc.Dropdown takes keyboard focus on a hidden <input aria-hidden="true"> (its
   "focus target") while its labelled button is out of the tab order, so a screen reader
   announces nothing when the dropdown is reached with Tab (axe: aria-hidden-focus). Until Dash
   fixes it, give that input the combobox role, the filter's visible label as its name and the
   button's expanded state. Nothing else about the component changes. */
(function () {
  function set(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value); // no change, no mutation
  }
  function fix(wrapper) {
    var input = wrapper.querySelector(".dash-dropdown-focus-target");
    var button = wrapper.querySelector("button.dash-dropdown");
    if (!input || !button) return;
    if (input.hasAttribute("aria-hidden")) input.removeAttribute("aria-hidden");
    set(input, "role", "combobox");
    set(input, "aria-haspopup", "listbox");
    set(input, "aria-expanded", button.getAttribute("aria-expanded") || "false");
    var label = document.getElementById(button.id + "-label");
    var value = document.getElementById(button.id + "-value");
    var names = [label && label.id, value && value.id].filter(Boolean).join(" ");
    if (names) set(input, "aria-labelledby", names);
  }
  function fixAll() {
    document.querySelectorAll(".dash-dropdown-wrapper").forEach(fix);
  }
  new MutationObserver(fixAll).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["aria-expanded", "aria-hidden"],
  });
  document.addEventListener("DOMContentLoaded", fixAll);
})();
