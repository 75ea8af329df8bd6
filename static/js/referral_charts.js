// Referral charts (the report page and the manager home panel): the referrals per month
// (created and converted, bars) and the conversion and referral rates (lines, %). Data from
// json_script "referral-chart-data"; the same numbers are in the tables next to the charts.
(function () {
  "use strict";
  var source = document.getElementById("referral-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = ["rgba(13, 110, 253, 0.7)", "rgba(25, 135, 84, 0.8)"];
  var counts = document.getElementById("referral-count-chart");
  if (counts) {
    new Chart(counts, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.counts.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: colours[i % colours.length] };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }
  var rates = document.getElementById("referral-rate-chart");
  if (rates) {
    new Chart(rates, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.rates.map(function (set, i) {
          return { label: set.label, data: set.data, borderColor: colours[i % colours.length],
                   backgroundColor: colours[i % colours.length], spanGaps: true, tension: 0.2 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, suggestedMax: 100, title: { display: true, text: data.axis } } }
      }
    });
  }
})();
