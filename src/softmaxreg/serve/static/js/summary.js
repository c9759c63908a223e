// The run view: accuracy, epochs, training time, and the curves: the training loss as the book's
// ProgressBoard draws it (several points an epoch, from the run folder's board) and the validation
// loss and accuracy per epoch (metrics.csv). The Train panel draws a run in progress with `drawCurves` too.
import { getJSON } from "./api.js";
import { integer, number, percent, t } from "./i18n.js";
import { on, state } from "./state.js";

let run = null;
const SERIES = [
  { key: "train_loss", word: "summary.train_loss", color: "#2166ac", axis: "loss" },
  { key: "val_loss", word: "summary.val_loss", color: "#c2432f", axis: "loss" },
  { key: "val_acc", word: "summary.val_acc_curve", color: "#1b7837", axis: "acc" },
];

function facts() {
  const s = run.summary;
  const rows = [
    ["summary.test_accuracy", run.test_accuracy == null ? "—" : percent(run.test_accuracy)],
    ["summary.val_acc", s.val_acc == null ? "—" : percent(s.val_acc)],
    ["summary.epochs", integer(s.epochs)],
    ["summary.best_epoch", s.best_epoch == null ? "—" : integer(s.best_epoch)],
    ["summary.model_epoch", state.model.model_epoch == null ? "—" : integer(state.model.model_epoch)],
    ["summary.seconds", `${number(s.total_seconds ?? 0, 1)} s`],
  ];
  document.getElementById("summary-facts").replaceChildren(...rows.flatMap(([word, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = t(word);
    const dd = document.createElement("dd");
    dd.textContent = value;
    return [dt, dd];
  }));
}

function curves() {
  const canvas = document.getElementById("curves");
  drawCurves(canvas, { rows: run.history, points: run.train_points || [] }, document.getElementById("curves-legend"));
  canvas.setAttribute("aria-label", t(run.train_points && run.train_points.length ? "summary.curves" : "summary.curves-epochs"));
}

// The canvas at its displayed size × the screen's pixel ratio, so that its text is 12 CSS pixels on a phone too.
function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(200, Math.round(canvas.getBoundingClientRect().width || 560));
  const height = Math.round(width * (width < 420 ? 0.62 : 0.46));
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const c = canvas.getContext("2d");
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { c, w: width, h: canvas.height / ratio };
}

// Losses on the left axis, accuracy (0..1) on the right one. x: epochs from 0 to `epochs` (the run's
// planned epochs while it trains, so that the first epoch already draws across its eighth of the chart).
// `points`: [epoch, train loss] several times an epoch; without them the training loss is per epoch.
export function drawCurves(canvas, { rows, points = [], epochs = rows.length }, legend) {
  const { c, w, h } = fit(canvas);
  const pad = { l: 46, r: 46, t: 12, b: 36 };
  c.clearRect(0, 0, w, h);
  const last = Math.max(epochs, rows.length, 1);
  const losses = [...rows.flatMap((r) => [r.train_loss, r.val_loss]), ...points.map((p) => p[1])].filter(Number.isFinite);
  const maxLoss = (losses.length ? Math.max(...losses) : 1) * 1.1;
  const x = (epoch) => pad.l + (epoch / last) * (w - pad.l - pad.r);
  const y = (value, axis) => pad.t + (1 - (axis === "acc" ? value : value / maxLoss)) * (h - pad.t - pad.b);
  c.strokeStyle = "#767676";
  c.fillStyle = "#333";
  c.lineWidth = 1;
  c.font = "12px system-ui, sans-serif";
  c.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  c.textAlign = "right";
  for (let i = 0; i <= 4; i++) c.fillText(number(maxLoss * i / 4, 2), pad.l - 4, y(maxLoss * i / 4, "loss") + 4);
  c.textAlign = "left";
  for (let i = 0; i <= 4; i++) c.fillText(number(i / 4, 2), w - pad.r + 4, y(i / 4, "acc") + 4);
  c.textAlign = "center";
  const step = Math.ceil(last / Math.max(1, Math.floor((w - pad.l - pad.r) / 40))); // ticks ≥ 40 px apart
  for (let e = 0; e <= last; e += step) c.fillText(integer(e), x(e), h - pad.b + 15);
  c.fillText(t("summary.epoch"), (pad.l + w - pad.r) / 2, h - 4);
  const train = points.length ? points : rows.map((r) => [r.epoch, r.train_loss]);
  const lines = {
    train_loss: train,
    val_loss: rows.map((r) => [r.epoch, r.val_loss]),
    val_acc: rows.map((r) => [r.epoch, r.val_acc]),
  };
  for (const series of SERIES) {
    const line = lines[series.key].filter((p) => Number.isFinite(p[1]));
    c.strokeStyle = c.fillStyle = series.color;
    c.lineWidth = 2;
    c.beginPath();
    line.forEach(([e, v], i) => (i ? c.lineTo : c.moveTo).call(c, x(e), y(v, series.axis)));
    c.stroke();
    for (const [e, v] of line) c.fillRect(x(e) - 2.5, y(v, series.axis) - 2.5, 5, 5);
  }
  canvas.dataset.points = String(train.length);
  legend.replaceChildren(...SERIES.map((series) => {
    const item = document.createElement("span");
    item.className = `key ${series.key}`;
    item.textContent = t(series.word);
    return item;
  }));
}

function render() {
  if (!run) return;
  facts();
  curves();
}

export function init() {
  on("model", async () => { run = await getJSON("/api/run"); render(); });
  on("lang", render);
  let resizing = null;
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 150); });
}
