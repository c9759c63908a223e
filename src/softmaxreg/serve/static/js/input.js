// The input view: choose, drop or paste an image file, or draw on the canvas (mouse, touch, pen or
// keyboard, with a visible cursor). Files go to POST /api/predict; the drawing, as the model's H×W
// pixels, to POST /api/predict/pixels while you draw (one request at a time, the latest drawing next).
// The pad is for grey images up to 64×64; a run of named features gets a form (or CSV rows) instead,
// posted to POST /api/predict/features.
import { postFile, postJSON } from "./api.js";
import { lang, t } from "./i18n.js";
import { inputSpec, on, setResult, showStatus, state } from "./state.js";

const PAD_MAX = 64; // larger images, or colour ones, are uploaded rather than drawn
let canvas, context, drawing = false, last = null, pending = false, again = false;
let grid = { height: 28, width: 28 }, block = 10;
let cursor = { x: 140, y: 140 };

export async function predictFile(file) {
  showStatus(t("working"));
  try {
    const body = await postFile(`/api/predict?top_k=10&explain=true&lang=${lang}`, file);
    setResult(body.results[0], file.name || { key: "input.pasted" });
    showStatus("");
  } catch (error) {
    failed(error);
  }
}

function failed(error) { // no model yet on a server that trains: say where to get one, not how to restart it
  const training = !state.model && document.body.dataset.training === "on";
  showStatus(training ? t("prediction.nomodel") : error.message, true);
}

export async function predictPixels(pixels, source) {
  const body = await postJSON(`/api/predict/pixels?top_k=10&explain=true&lang=${lang}`, { pixels });
  setResult(body.results[0], source);
}

function clear() {
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

function pixels() { // the canvas averaged over block×block squares: H rows of W numbers in [0, 1]
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const rows = [];
  for (let y = 0; y < grid.height; y++) {
    const row = [];
    for (let x = 0; x < grid.width; x++) {
      let sum = 0;
      for (let dy = 0; dy < block; dy++) {
        for (let dx = 0; dx < block; dx++) sum += data[4 * ((y * block + dy) * canvas.width + x * block + dx)];
      }
      row.push(Math.round(sum / (block * block * 255) * 1000) / 1000);
    }
    rows.push(row);
  }
  return rows;
}

async function sendDrawing() { // at most one request in flight; the newest drawing goes next
  if (pending) { again = true; return; }
  pending = true;
  try {
    await predictPixels(pixels(), { key: "input.drawing" });
    showStatus("");
  } catch (error) {
    failed(error);
  } finally {
    pending = false;
    if (again) { again = false; sendDrawing(); }
  }
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return { x: (event.clientX - box.left) * canvas.width / box.width, y: (event.clientY - box.top) * canvas.height / box.height };
}

function stroke(from, to) {
  context.strokeStyle = "#fff";
  context.lineWidth = 2.2 * block;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(from.x, from.y);
  context.lineTo(to.x, to.y);
  context.stroke();
}
function onPointer(event) {
  if (event.type === "pointerdown") {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
  } else if (event.type === "pointermove" && drawing) {
    const next = point(event);
    stroke(last, next);
    last = next;
  } else if (event.type === "pointerup" || event.type === "pointercancel") {
    drawing = false;
  } else {
    return;
  }
  event.preventDefault();
  sendDrawing();
}

const STEPS = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };

function onKey(event) { // arrow keys draw from the cursor, Shift+arrows move it
  const step = STEPS[event.key];
  if (!step) return;
  event.preventDefault();
  const next = {
    x: Math.max(0, Math.min(canvas.width - 1, cursor.x + block * step[0])),
    y: Math.max(0, Math.min(canvas.height - 1, cursor.y + block * step[1])),
  };
  if (!event.shiftKey) { stroke(cursor, next); sendDrawing(); }
  cursor = next;
  showCursor();
}

// The keyboard's cursor: a ring over the canvas (not drawn on it, so never sent), shown while it has focus.
function showCursor() {
  const ring = document.getElementById("cursor");
  ring.style.left = `${(100 * cursor.x / canvas.width).toFixed(2)}%`;
  ring.style.top = `${(100 * cursor.y / canvas.height).toFixed(2)}%`;
}

// The model's input decides the inputs: the pad (grey images up to 64×64), files (any image), a form (features).
function adapt() {
  const spec = inputSpec();
  const features = spec.kind === "features";
  document.getElementById("image-inputs").hidden = features;
  document.getElementById("features").hidden = !features;
  const title = document.getElementById("input-title");
  title.dataset.i18n = features ? "input.features-title" : "input.title";
  title.textContent = t(title.dataset.i18n);
  if (state.model.input) { // a run of your own data, not Fashion-MNIST
    const lead = document.querySelector(".lead");
    lead.dataset.i18n = "lead-own";
    lead.textContent = t("lead-own");
  }
  if (features) { featureForm(spec.feature_names || []); return; }
  const padded = spec.channels === 1 && spec.height <= PAD_MAX && spec.width <= PAD_MAX;
  document.querySelector(".draw").hidden = !padded;
  if (!padded) return;
  grid = { height: spec.height, width: spec.width };
  block = Math.max(4, Math.floor(280 / Math.max(grid.height, grid.width)));
  canvas.width = block * grid.width;
  canvas.height = block * grid.height;
  cursor = { x: canvas.width / 2, y: canvas.height / 2 };
  document.getElementById("cursor").style.width = `${(220 / grid.width).toFixed(2)}%`; // the brush: 2.2 pixels
  clear();
  showCursor();
}

function featureForm(names) {
  const fields = document.getElementById("feature-fields");
  fields.replaceChildren(...names.map((name, i) => {
    const label = document.createElement("label");
    const text = document.createElement("span");
    text.textContent = name;
    const field = document.createElement("input");
    field.type = "text";
    field.inputMode = "decimal";
    field.id = `feature-${i}`;
    field.name = name;
    label.append(text, field);
    return label;
  }));
}

// A test row shown in the form, so that the user can change a value and predict again.
export function fillFeatures(values) {
  for (const field of document.querySelectorAll("#feature-fields input")) {
    if (field.name in values) field.value = String(values[field.name]);
  }
  document.getElementById("feature-csv").value = "";
}

function featureRows() { // the CSV rows when given (a header of names first), else the form's one row
  const csv = document.getElementById("feature-csv").value.trim();
  if (csv) {
    const [header, ...lines] = csv.split(/\r?\n/).map((line) => line.split(",").map((cell) => cell.trim()));
    return lines.filter((cells) => cells.length > 1 || cells[0]).map((cells) =>
      Object.fromEntries(header.map((name, i) => [name, Number(cells[i])])));
  }
  const row = {};
  for (const field of document.querySelectorAll("#feature-fields input")) row[field.name] = Number(field.value.trim().replace(",", "."));
  return [row];
}

async function predictFeatures(event) {
  event.preventDefault();
  try {
    const body = await postJSON(`/api/predict/features?top_k=10&explain=true&lang=${lang}`, { rows: featureRows() });
    setResult(body.results[0], { key: "input.features-row" });
    showStatus("");
  } catch (error) {
    showStatus(error.message, true);
  }
}

function firstImage(items) {
  return [...(items || [])].find((item) => item.type && item.type.startsWith("image/"));
}

export function init() {
  canvas = document.getElementById("canvas");
  context = canvas.getContext("2d", { willReadFrequently: true });
  clear();
  for (const type of ["pointerdown", "pointermove", "pointerup", "pointercancel"]) canvas.addEventListener(type, onPointer);
  canvas.addEventListener("keydown", onKey);
  document.getElementById("clear").addEventListener("click", () => { clear(); sendDrawing(); });
  document.getElementById("features").addEventListener("submit", predictFeatures);
  on("model", adapt);
  showCursor();
  document.getElementById("file").addEventListener("change", (event) => {
    if (event.target.files.length) predictFile(event.target.files[0]);
    event.target.value = "";
  });
  const drop = document.getElementById("drop");
  drop.addEventListener("keydown", (event) => { // the drop zone, reached by keyboard, opens the file chooser
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); document.getElementById("file").click(); }
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) predictFile(file);
  });
  document.addEventListener("paste", (event) => {
    const item = firstImage(event.clipboardData && event.clipboardData.items);
    if (item) { event.preventDefault(); predictFile(item.getAsFile()); }
  });
}
