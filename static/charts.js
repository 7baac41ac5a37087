// Draws every chart on the page with vega-embed. A container names the JSON block holding
// its Vega-Lite spec: <div data-chart-spec="ID"> and <script type="application/json" id="ID">.
//
// The site's Content-Security-Policy has no 'unsafe-eval', so Vega may not compile its
// expressions into functions: `ast: true` makes it keep them as syntax trees, run by the
// CSP-safe interpreter (vega-interpreter, bundled in vega-embed's build).
// Loaded as a module (deferred): the document is parsed and vega-embed loaded by now.

const OPTIONS = {
  mode: "vega-lite",
  renderer: "svg", // real elements with aria-labels: readable by screen readers and tests
  actions: false,
  ast: true,
};

async function draw(container) {
  const name = container.dataset.chartSpec;
  const start = performance.now();
  try {
    const spec = JSON.parse(document.getElementById(name).textContent);
    const result = await vegaEmbed(container, spec, OPTIONS);
    // how long parsing, compiling and drawing took (browser devtools, benchmarks/)
    performance.measure(`chart ${name}`, { start, end: performance.now() });
    container.vegaView = result.view; // for the tests and for readers' consoles
    container.dataset.chartState = "drawn";
    container.dispatchEvent(new Event("chartdrawn")); // static/timeline.js waits for it
  } catch (error) {
    container.dataset.chartState = "failed";
    container.textContent = "The chart could not be drawn.";
    console.error("chart", name, error);
  }
}

for (const container of document.querySelectorAll("[data-chart-spec]")) {
  draw(container);
}
