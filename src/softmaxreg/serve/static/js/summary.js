// The run view: accuracy, epochs, training time, and the curves of metrics.csv.
import { getJSON } from "./api.js";
import { lang, percent, t } from "./i18n.js";
import { on, state } from "./state.js";

let run = null;
const SERIES = [
  { key: "train_loss", word: "summary.train_loss", color: "#2166ac", axis: "loss" },
  { key: "val_loss", word: "summary.val_loss", color: "#d6604d", axis: "loss" },
  { key: "val_acc", word: "summary.val_acc_curve", color: "#1b7837", axis: "acc" },
];

function facts() {
  const s = run.summary;
  const rows = [
    ["summary.test_accuracy", run.test_accuracy == null ? "—" : percent(run.test_accuracy)],
    ["summary.val_acc", s.val_acc == null ? "—" : percent(s.val_acc)],
    ["summary.epochs", String(s.epochs)],
    ["summary.best_epoch", s.best_epoch == null ? "—" : String(s.best_epoch)],
    ["summary.model_epoch", String(state.model.model_epoch ?? "—")],
    ["summary.seconds", `${(s.total_seconds ?? 0).toLocaleString(lang, { maximumFractionDigits: 1 })} s`],
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
  drawCurves(document.getElementById("curves"), run.history, document.getElementById("curves-legend"));
}

// Losses on the left axis, accuracy (0..1) on the right one; the x axis spans `epochs` (default: the rows'),
// so that a run being trained grows from left to right (the Train panel draws with this too).
export function drawCurves(canvas, rows, legend, epochs = rows.length) {
  const c = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = { l: 44, r: 44, t: 12, b: 30 };
  c.clearRect(0, 0, w, h);
  if (!rows.length) return;
  const last = Math.max(epochs, rows.length);
  const maxLoss = Math.max(...rows.flatMap((r) => [r.train_loss, r.val_loss])) * 1.1;
  const x = (epoch) => pad.l + (last === 1 ? 0.5 : (epoch - 1) / (last - 1)) * (w - pad.l - pad.r);
  const y = (value, axis) => pad.t + (1 - (axis === "acc" ? value : value / maxLoss)) * (h - pad.t - pad.b);
  c.strokeStyle = "#888";
  c.fillStyle = "#444";
  c.font = "12px system-ui, sans-serif";
  c.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  for (let i = 0; i <= 4; i++) {
    c.fillText((maxLoss * i / 4).toFixed(2), 4, y(maxLoss * i / 4, "loss") + 4);
    c.fillText((i / 4).toFixed(2), w - pad.r + 6, y(i / 4, "acc") + 4);
  }
  for (const row of rows) c.fillText(String(row.epoch), x(row.epoch) - 3, h - pad.b + 16);
  c.fillText(t("summary.epoch"), w / 2 - 14, h - 2);
  for (const series of SERIES) {
    c.strokeStyle = c.fillStyle = series.color;
    c.lineWidth = 2;
    c.beginPath();
    rows.forEach((row, i) => (i ? c.lineTo : c.moveTo).call(c, x(row.epoch), y(row[series.key], series.axis)));
    c.stroke();
    for (const row of rows) c.fillRect(x(row.epoch) - 2, y(row[series.key], series.axis) - 2, 4, 4);
  }
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
}
