// Pointing at Explore's projection. Two instances of this module take part (data.role):
// - "pointer": a hover shows the image under the pointer, drawn from an atlas of thumbnails the page
//   already holds, and a click on a point opens it (the row it carries as its first customdata value goes
//   back to Python as the trigger "opened");
// - "feed": brings the atlases (data.chunk images each) one at a time: the trigger "want" asks Python for
//   atlas k, which comes back in the feed's data (only the feed's fragment reruns). The page keeps the
//   atlases it has, so each is sent once. Up to data.prefetch images every atlas is asked for in turn as
//   soon as the page opens (a pointed-at point's atlas first); past that, an atlas is asked for when a
//   point in it is first pointed at.
// Streamlit reports no hover or click events for Plotly charts; this finds the chart by its layout.meta
// and listens to Plotly's own events. The chart is redrawn (a new graph div) when its figure changes, so
// a timer attaches to each new one.
const STATE = (window.__dcPointer = window.__dcPointer || {});
for (const [field, make] of [["charts", () => new WeakSet()], ["atlases", () => new Map()], ["failed", () => new Set()],
                             ["tries", () => new Map()]]) STATE[field] = STATE[field] || make();
const KEEP = 48; // past data.prefetch images, the atlases kept in the page at most (the oldest go first)

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

function atlasOf(number) {
  const entry = STATE.atlases.get(`${STATE.data.images}:${number}`);
  return entry && entry.image.complete && entry.image.naturalWidth ? entry : null;
}

function ask(number) {
  // one atlas asked for at a time: the last asked is the one waited for (a pointed-at point's goes first)
  const name = `${STATE.data.images}:${number}`;
  if (STATE.atlases.has(name) || STATE.waiting === name || STATE.failed.has(name) || !STATE.want) return;
  STATE.waiting = name;
  STATE.want("want", number);
}

function askNext() {
  // the next atlas not yet here, while the images are few enough to fetch them all
  const data = STATE.data;
  if (!data || !STATE.want || data.n > data.prefetch || STATE.waiting) return;
  for (let k = 0; k * data.chunk < data.n; k++) {
    const name = `${data.images}:${k}`;
    if (!STATE.atlases.has(name) && !STATE.failed.has(name)) { ask(k); return; }
  }
}

function show(row, text, mouse) {
  const data = STATE.data;
  if (!data || row < 0 || row >= data.n) return;
  const tip = tipElement(), canvas = tip.firstChild;
  const number = Math.floor(row / data.chunk), atlas = atlasOf(number);
  const [th, tw] = data.tile, size = data.size;
  if (atlas) {
    const scale = Math.max(1, Math.floor(size / Math.max(th, tw)));
    const index = row - number * data.chunk;
    canvas.width = tw * scale; canvas.height = th * scale;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(atlas.image, (index % atlas.columns) * tw, Math.floor(index / atlas.columns) * th, tw, th,
                      0, 0, tw * scale, th * scale);
    canvas.style.display = "block";
    tip.setAttribute("data-state", "image");
  } else {
    canvas.style.display = "none";
    tip.setAttribute("data-state", "loading");
    ask(number);
  }
  const coming = !atlas && !STATE.failed.has(`${data.images}:${number}`);
  tip.lastChild.textContent = coming ? `${text} · loading image` : text;
  tip.style.display = "block";
  const x = mouse ? mouse.clientX : STATE.mouse[0], y = mouse ? mouse.clientY : STATE.mouse[1];
  STATE.mouse = [x, y];
  // left of the pointer, where Plotly's own hover text (drawn to the right) does not hide it
  const left = x - 16 - tip.offsetWidth >= 0;
  tip.style.left = (left ? x - 16 - tip.offsetWidth : x + 16) + "px";
  tip.style.top = Math.max(4, Math.min(y - tip.offsetHeight / 2, window.innerHeight - tip.offsetHeight - 4)) + "px";
  tip.setAttribute("data-row", String(row));
  STATE.shown = [row, text];
}

function hide() {
  if (STATE.tip) STATE.tip.style.display = "none";
  STATE.shown = null;
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
      show(row, String(point.text || "").replace(/<br>/g, " · "), event.event);
    });
    chart.on("plotly_unhover", hide);
    chart.on("plotly_click", (event) => {
      const [row] = rowOf(event);
      if (row !== null && STATE.setTriggerValue) STATE.setTriggerValue("opened", row);
    });
  }
}

function received(data) {
  // the feed brought atlas data.number: keep it, redraw the picture waiting for it, and ask for the next
  const name = `${data.images}:${data.number}`;
  if (STATE.waiting === name) STATE.waiting = null;
  if (STATE.atlases.has(name)) return;
  const image = new Image();
  image.onload = () => {
    if (STATE.shown && STATE.data && Math.floor(STATE.shown[0] / STATE.data.chunk) === data.number &&
        STATE.data.images === data.images) show(STATE.shown[0], STATE.shown[1], null);
    askNext();
  };
  image.src = data.atlas;
  STATE.atlases.set(name, { image, columns: data.columns });
  const keep = Math.max(KEEP, Math.ceil(STATE.data ? STATE.data.prefetch / STATE.data.chunk : 0) + 1);
  while (STATE.atlases.size > keep) STATE.atlases.delete(STATE.atlases.keys().next().value);
}

export default function ({ data, setTriggerValue }) {
  if (data.role === "feed") {
    STATE.want = setTriggerValue;
    if (data.atlas) received(data);
    else if (STATE.waiting) {  // a rerun that did not bring it (another rerun came first): ask again, thrice at most
      const name = STATE.waiting, tries = (STATE.tries.get(name) || 0) + 1;
      STATE.tries.set(name, tries);
      if (tries >= 3) STATE.failed.add(name);
      STATE.waiting = null;
    }
    askNext();
    return () => {};
  }
  if (!STATE.data || STATE.data.images !== data.images) {  // another run's images: forget the last run's atlases
    for (const name of [...STATE.atlases.keys()]) if (!name.startsWith(`${data.images}:`)) STATE.atlases.delete(name);
    STATE.failed.clear(); STATE.tries.clear(); STATE.waiting = null;
  }
  STATE.data = data;
  STATE.setTriggerValue = setTriggerValue;
  STATE.mouse = STATE.mouse || [0, 0];
  if (!STATE.timer) STATE.timer = setInterval(attach, 300);
  attach();
  askNext();
  return () => hide();
}
