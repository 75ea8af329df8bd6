// Renewal rates page: the rate per month, one bar per team (data from json_script
// "rate-chart-data"; the same numbers are in the table next to it).
(function () {
  "use strict";
  var source = document.getElementById("rate-chart-data");
  var canvas = document.getElementById("rate-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = ["rgba(13, 110, 253, 0.7)", "rgba(25, 135, 84, 0.7)", "rgba(255, 193, 7, 0.8)",
                 "rgba(220, 53, 69, 0.7)", "rgba(111, 66, 193, 0.7)", "rgba(13, 202, 240, 0.7)"];
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (set, i) {
        return { label: set.label, data: set.data, backgroundColor: colours[i % colours.length] };
      })
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: data.datasets.length > 1 } },
      scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: data.axis } } }
    }
  });
})();
