// Pointing at Explore's projection: a hover shows the image under the pointer (drawn from one atlas of
// thumbnails sent with the page, so no round trip to the server), and a click on a point opens it (the
// row it carries as its first customdata value goes back to Python as the trigger "opened").
// Streamlit reports no hover or click events for Plotly charts; this finds the chart by its layout.meta
// and listens to Plotly's own events. The chart is redrawn (a new graph div) when its figure changes, so
// a timer attaches to each new one.
const STATE = (window.__dcPointer = window.__dcPointer || { charts: new WeakSet() });

function tipElement() {
  if (STATE.tip && document.body.contains(STATE.tip)) return STATE.tip;
  const tip = document.createElement("div");
  tip.setAttribute("data-testid", "dc-hover-image");
  tip.style.cssText = "position:fixed;z-index:100000;pointer-events:none;display:none;background:#fff;" +
    "border:1px solid #bbb;border-radius:4px;padding:4px;box-shadow:0 2px 8px rgba(0,0,0,.25);" +
    "font:12px sans-serif;color:#333;text-align:center";
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "display:block;image-rendering:pixelated;background:#000";
  const caption = document.createElement("div");
  caption.style.cssText = "margin-top:3px;max-width:140px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis";
  tip.append(canvas, caption);
  document.body.append(tip);
  STATE.tip = tip;
  return tip;
}

function show(row, text, mouse) {
  const data = STATE.data, atlas = STATE.atlas;
  if (!data || !atlas || !atlas.complete || row < 0 || row >= data.n) return;
  const [th, tw] = data.tile, size = data.size;
  const tip = tipElement(), canvas = tip.firstChild;
  const scale = Math.max(1, Math.floor(size / Math.max(th, tw)));
  canvas.width = tw * scale; canvas.height = th * scale;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(atlas, (row % data.columns) * tw, Math.floor(row / data.columns) * th, tw, th,
                    0, 0, tw * scale, th * scale);
  tip.lastChild.textContent = text;
  tip.style.display = "block";
  const x = mouse ? mouse.clientX : 0, y = mouse ? mouse.clientY : 0;
  // left of the pointer, where Plotly's own hover text (drawn to the right) does not hide it
  const left = x - 16 - tip.offsetWidth >= 0;
  tip.style.left = (left ? x - 16 - tip.offsetWidth : x + 16) + "px";
  tip.style.top = Math.max(4, Math.min(y - tip.offsetHeight / 2, window.innerHeight - tip.offsetHeight - 4)) + "px";
  tip.setAttribute("data-row", String(row));
}

function hide() {
  if (STATE.tip) STATE.tip.style.display = "none";
}

function rowOf(event) {
  const point = event && event.points && event.points[0];
  const custom = point && point.customdata;
  const row = custom ? Number(custom[0]) : NaN;
  return Number.isInteger(row) && point.curveNumber < STATE.data.traces ? [row, point] : [null, null];
}

function attach() {
  if (!STATE.data) return;
  for (const chart of document.querySelectorAll(".js-plotly-plot")) {
    if (STATE.charts.has(chart) || !chart.layout || chart.layout.meta !== STATE.data.meta || !chart.on) continue;
    STATE.charts.add(chart);
    chart.on("plotly_hover", (event) => {
      const [row, point] = rowOf(event);
      if (row === null) return;
      const custom = point.customdata;
      show(row, `${custom[2]} · label ${custom[3]}`, event.event);
    });
    chart.on("plotly_unhover", hide);
    chart.on("plotly_click", (event) => {
      const [row] = rowOf(event);
      if (row !== null && STATE.setTriggerValue) STATE.setTriggerValue("opened", row);
    });
  }
}

export default function ({ data, setTriggerValue }) {
  STATE.data = data;
  STATE.setTriggerValue = setTriggerValue;
  if (STATE.atlasSource !== data.atlas) {
    STATE.atlas = new Image();
    STATE.atlas.src = data.atlas;
    STATE.atlasSource = data.atlas;
  }
  if (!STATE.timer) STATE.timer = setInterval(attach, 300);
  attach();
  return () => hide();
}
