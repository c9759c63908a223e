// The test-set view: a random test image or mistake, and the confusion matrix whose cells show
// their images (a run of named features: its test rows, shown by number). Choosing a test image predicts it: the prediction card is scrolled to and focused,
// and a screen reader hears the answer. The matrix is one tab stop (the ARIA grid pattern: a roving
// tabindex, arrow keys, Home/End, Ctrl+Home/End), with a skip link past it.
import { getJSON, postJSON } from "./api.js";
import { fillFeatures, predictPixels } from "./input.js";
import { className, integer, lang, percent, t } from "./i18n.js";
import { sourceText } from "./prediction.js";
import { announce, inputSpec, on, setResult, showStatus, state } from "./state.js";

const PAGE = 48; // images shown per step of a cell ("Show 48 more")
const MAX_LIMIT = 500; // the API's largest `limit`
let matrix = null, shown = null, cell = null, active = { row: 0, col: 0 };

const rows = () => inputSpec().kind === "features"; // a run of named features: its test set is rows, not images
const word = (key) => (rows() ? `${key}.rows` : key); // the words for rows ("test row 3", "2 rows")

function imageButton(index, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = rows() ? "thumb row" : "thumb";
  button.setAttribute("aria-label", `${t(word("testset.test-image"), { index })}: ${t(word("testset.use"))}`);
  button.title = label;
  if (rows()) {
    button.textContent = `#${index}`;
  } else {
    const img = document.createElement("img");
    img.src = `/api/testset/images/${index}.png`;
    img.alt = "";
    img.width = 56;
    img.height = 56;
    button.append(img);
  }
  button.addEventListener("click", () => explain(index));
  return button;
}

const scaled = (pixels) => pixels.map((value) => (Array.isArray(value) ? scaled(value) : value / 255)); // 0..255 to [0, 1]

// Predict test example `index` (its pixels, or its row of features by name); then take the user to
// the answer (or tell them, with `focus` false).
async function explain(index, focus = true) {
  const source = { key: word("testset.test-image"), values: { index } };
  try {
    const example = await getJSON(`/api/testset/images/${index}`);
    if (example.features) {
      const body = await postJSON(`/api/predict/features?top_k=10&explain=true&lang=${lang}`, { rows: [example.features] });
      fillFeatures(example.features);
      setResult(body.results[0], source);
    } else {
      await predictPixels(scaled(example.pixels), source);
    }
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  const top = state.result.top_k[0];
  announce(t("prediction.announce", { source: sourceText(), name: className(top.label), probability: percent(top.probability) }));
  if (focus) {
    const heading = document.getElementById("prediction-title");
    heading.scrollIntoView({ block: "start", behavior: "instant" });
    heading.focus({ preventScroll: true });
  }
}

function renderShown() {
  const box = document.getElementById("test-image");
  box.replaceChildren();
  if (!shown) return;
  const caption = document.createElement("p");
  caption.textContent = t(word("testset.image"), {
    index: shown.index, label: className(shown.label), predicted: className(shown.predicted),
    confidence: percent(shown.confidence),
  });
  caption.classList.toggle("wrong", shown.label !== shown.predicted);
  box.append(imageButton(shown.index, caption.textContent), caption);
}

// "Random test image" and "Random mistake" show the image here and predict it (the Why view explains
// it); the focus stays on the button, so the user can ask for another at once.
async function showRandom(mistake) {
  try {
    shown = await getJSON(`/api/testset/random?mistake=${mistake}`);
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  renderShown();
  await explain(shown.index, false);
}

// White or black numbers, whichever contrasts more with the cell's colour (WCAG: at least 4.5:1 then).
function textColor([r, g, b]) {
  const linear = (c) => { const v = c / 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) ? "#fff" : "#000";
}

function cellColor(i, j, count, largest) { // over white: blue diagonal, red mistakes
  const share = count / largest;
  const [base, alpha] = i === j ? [[33, 102, 172], 0.1 + 0.8 * share] : [[178, 24, 43], count ? 0.1 + 0.9 * Math.sqrt(share) : 0];
  return base.map((c) => Math.round(255 + alpha * (c - 255)));
}

function cellLabel(i, j, count) {
  const values = { label: className(i), predicted: className(j), count: integer(count) };
  return t(word(count === 1 ? "testset.cell-label-one" : "testset.cell-label"), values);
}

function renderMatrix() {
  const table = document.getElementById("matrix");
  table.replaceChildren();
  if (!matrix) return;
  const largest = Math.max(...matrix.confusion_matrix.flat());
  const head = document.createElement("tr");
  const corner = document.createElement("td");
  head.append(corner);
  matrix.confusion_matrix.forEach((_, j) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = className(j);
    head.append(th);
  });
  table.append(head);
  matrix.confusion_matrix.forEach((row, i) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = className(i);
    tr.append(th);
    row.forEach((count, j) => {
      const td = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = integer(count);
      button.dataset.label = String(i);
      button.dataset.predicted = String(j);
      button.tabIndex = i === active.row && j === active.col ? 0 : -1;
      button.setAttribute("aria-label", cellLabel(i, j, count));
      const color = cellColor(i, j, count, largest);
      button.style.backgroundColor = `rgb(${color.join(",")})`;
      button.style.color = textColor(color);
      button.addEventListener("click", () => { move(i, j, false); showCell(i, j, PAGE); });
      td.append(button);
      tr.append(td);
    });
    table.append(tr);
  });
}

function cellButton(row, col) {
  return document.querySelector(`#matrix button[data-label="${row}"][data-predicted="${col}"]`);
}

function move(row, col, focus = true) { // the roving tabindex: one cell is the matrix's tab stop
  const size = matrix.confusion_matrix.length;
  row = Math.max(0, Math.min(size - 1, row));
  col = Math.max(0, Math.min(size - 1, col));
  cellButton(active.row, active.col).tabIndex = -1;
  active = { row, col };
  const button = cellButton(row, col);
  button.tabIndex = 0;
  if (focus) button.focus();
}

function onGridKey(event) {
  if (!event.target.matches("#matrix button")) return;
  const { row, col } = active;
  const last = matrix.confusion_matrix.length - 1;
  const moves = {
    ArrowUp: [row - 1, col], ArrowDown: [row + 1, col], ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1],
    Home: event.ctrlKey ? [0, 0] : [row, 0], End: event.ctrlKey ? [last, last] : [row, last],
    PageUp: [0, col], PageDown: [last, col],
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  move(...moves[event.key]);
}

async function showCell(label, predicted, limit) {
  try {
    cell = await getJSON(`/api/testset/confusion/${label}/${predicted}?limit=${Math.min(limit, MAX_LIMIT)}`);
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  renderCell();
  announce(document.querySelector("#cell h3").textContent);
}

function cellTitle() {
  const values = { label: className(cell.label), predicted: className(cell.predicted), count: integer(cell.count),
    shown: integer(cell.indices.length) };
  if (cell.count === 1) return t(word("testset.cell-one"), values);
  return t(word(cell.indices.length < cell.count ? "testset.cell-some" : "testset.cell"), values);
}

function renderCell() {
  const box = document.getElementById("cell");
  box.replaceChildren();
  if (!cell) return;
  const heading = document.createElement("h3");
  heading.id = "cell-title";
  heading.tabIndex = -1;
  heading.textContent = cellTitle();
  if (!cell.count) {
    box.append(heading, Object.assign(document.createElement("p"), { textContent: t(word("testset.none")) }));
    return;
  }
  const help = Object.assign(document.createElement("p"), { className: "muted", textContent: t(word("testset.thumbs-help")) });
  const grid = document.createElement("div");
  grid.className = "grid";
  grid.append(...cell.indices.map((index) => imageButton(index, t(word("testset.test-image"), { index }))));
  box.append(heading, help, grid);
  const rest = cell.count - cell.indices.length;
  if (rest > 0 && cell.indices.length < MAX_LIMIT) {
    const more = document.createElement("button");
    more.type = "button";
    more.id = "cell-more";
    more.className = "more";
    more.textContent = t("testset.more", { n: integer(Math.min(PAGE, rest, MAX_LIMIT - cell.indices.length)) });
    more.addEventListener("click", async () => {
      const first = cell.indices.length;
      await showCell(cell.label, cell.predicted, first + PAGE);
      const next = document.querySelectorAll("#cell .thumb")[first]; // the focus goes to the first new image
      if (next) next.focus();
    });
    box.append(more);
  }
}

// The section's fixed words follow the run: "Random test row" for a run of named features.
function wordsOfRun() {
  for (const [id, key] of [["random", "testset.random"], ["matrix-help", "testset.matrix-help"]]) {
    const element = document.getElementById(id);
    element.dataset.i18n = word(key);
    element.textContent = t(element.dataset.i18n);
  }
  const grid = document.getElementById("matrix");
  grid.dataset.i18nLabel = word("testset.grid");
  grid.setAttribute("aria-label", t(grid.dataset.i18nLabel));
}

async function load() {
  wordsOfRun();
  shown = null;
  cell = null;
  renderShown();
  renderCell();
  try {
    matrix = await getJSON("/api/testset");
    active = { row: 0, col: 0 };
    renderMatrix();
    document.getElementById("testset").classList.remove("unavailable");
  } catch (error) {
    matrix = null;
    renderMatrix();
    document.getElementById("testset").classList.add("unavailable");
    document.getElementById("cell").textContent = error.message;
  }
}

export function init() {
  document.getElementById("random").addEventListener("click", () => showRandom(false));
  document.getElementById("mistake").addEventListener("click", () => showRandom(true));
  document.getElementById("matrix").addEventListener("keydown", onGridKey);
  on("model", load);
  on("lang", () => {
    const focused = document.activeElement && document.activeElement.matches("#matrix button");
    renderShown(); renderMatrix(); renderCell();
    if (focused) cellButton(active.row, active.col).focus();
  });
}
