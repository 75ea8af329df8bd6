// Deal entry: "Add a row" adds a participant row in place (without JavaScript the button
// submits the form and the server shows it again with one more row).
(function () {
  "use strict";
  var button = document.getElementById("add-participant");
  var template = document.getElementById("participant-template");
  var rows = document.getElementById("participant-rows");
  var total = document.getElementById("id_participants-TOTAL_FORMS");
  if (!button || !template || !rows || !total) { return; }
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var index = parseInt(total.value, 10) || 0;
    var max = document.getElementById("id_participants-MAX_NUM_FORMS");
    if (max && index >= parseInt(max.value, 10)) { return; }
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var added = rows.lastElementChild && rows.lastElementChild.querySelector("select");
    if (added) { added.focus(); }
  });
})();
