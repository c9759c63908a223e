// The input view: choose, drop or paste an image file, or draw on the canvas (mouse, touch, pen or
// keyboard). Files go to POST /api/predict; the drawing, as 28×28 pixels, to POST /api/predict/pixels
// while you draw (one request at a time, the latest drawing next).
import { postFile, postJSON } from "./api.js";
import { lang, t } from "./i18n.js";
import { setResult, showStatus } from "./state.js";

const GRID = 28;
let canvas, context, drawing = false, last = null, pending = false, again = false;
let cursor = { x: 140, y: 140 };

export async function predictFile(file) {
  showStatus(t("working"));
  try {
    const body = await postFile(`/api/predict?top_k=10&explain=true&lang=${lang}`, file);
    setResult(body.results[0], file.name || "pasted image");
    showStatus("");
  } catch (error) {
    showStatus(error.message, true);
  }
}

export async function predictPixels(pixels, source) {
  const body = await postJSON(`/api/predict/pixels?top_k=10&explain=true&lang=${lang}`, { pixels });
  setResult(body.results[0], source);
}

function clear() {
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
}

function pixels() { // the canvas averaged over 10×10 blocks: 28 rows of 28 numbers in [0, 1]
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const block = canvas.width / GRID;
  const rows = [];
  for (let y = 0; y < GRID; y++) {
    const row = [];
    for (let x = 0; x < GRID; x++) {
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
    await predictPixels(pixels(), t("input.drawing"));
    showStatus("");
  } catch (error) {
    showStatus(error.message, true);
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
  context.lineWidth = 22;
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
  const next = { x: Math.max(0, Math.min(279, cursor.x + 10 * step[0])), y: Math.max(0, Math.min(279, cursor.y + 10 * step[1])) };
  if (!event.shiftKey) { stroke(cursor, next); sendDrawing(); }
  cursor = next;
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
