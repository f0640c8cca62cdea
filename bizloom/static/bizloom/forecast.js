// Forecast charts (Apache ECharts, served from node_modules by the static finder; no CDN).
// Each [data-forecast-chart] element shows one currency: weighted open amount and the
// unweighted rest stacked per month (so the bar's height is the unweighted amount), and a
// line of the amount won. Data comes from the json_script element "forecast-chart-data".
(function () {
  "use strict";

  function number(text) { return Number(text) || 0; }

  function render(element, item) {
    if (typeof echarts === "undefined") return;
    const weighted = item.weighted.map(number);
    const rest = item.unweighted.map(function (value, index) {
      return Math.max(0, number(value) - weighted[index]);
    });
    const format = new Intl.NumberFormat(document.documentElement.lang || undefined,
      { style: "currency", currency: item.currency });
    const chart = echarts.init(element);
    chart.setOption({
      tooltip: {
        trigger: "axis",
        formatter: function (params) {
          const index = params[0].dataIndex;
          return [item.months[index],
            element.dataset.labelUnweighted + ": " + format.format(number(item.unweighted[index])),
            element.dataset.labelWeighted + ": " + format.format(weighted[index]),
            element.dataset.labelWon + ": " + format.format(number(item.won[index]))].join("<br>");
        }
      },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 36, containLabel: true },
      xAxis: { type: "category", data: item.months },
      yAxis: { type: "value" },
      series: [
        { name: element.dataset.labelWeighted, type: "bar", stack: "open", data: weighted },
        { name: element.dataset.labelRest, type: "bar", stack: "open", data: rest, itemStyle: { opacity: 0.45 } },
        { name: element.dataset.labelWon, type: "line", data: item.won.map(number), smooth: false }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init() {
    const source = document.getElementById("forecast-chart-data");
    if (!source) return;
    const items = JSON.parse(source.textContent);
    document.querySelectorAll("[data-forecast-chart]").forEach(function (element) {
      const item = items[Number(element.dataset.forecastChart)];
      if (item) render(element, item);
    });
  }

  // Show the date fields that the chosen period kind uses.
  function togglePeriodFields() {
    const select = document.querySelector(".report-filters select[name='period']");
    if (!select) return;
    const custom = select.value === "custom";
    document.querySelectorAll("[data-period-field='custom']").forEach(function (el) { el.hidden = !custom; });
    document.querySelectorAll("[data-period-field='on']").forEach(function (el) { el.hidden = custom; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init();
    togglePeriodFields();
    document.addEventListener("change", function (event) {
      if (event.target.matches(".report-filters select[name='period']")) togglePeriodFields();
    });
  });
})();
