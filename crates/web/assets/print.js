// Sportello (EUPL-1.2): the receipt's print button. The button is hidden in the page as served, so that without
// JavaScript no button does nothing (the page then says to print from the browser's menu); this script shows it and
// makes it print. A file of its own because the content security policy allows no inline script.
"use strict";
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
