// The test-set view: a random test image or mistake, and the confusion matrix whose cells show
// their images. Any test image can be sent to the other views ("Explain this image").
import { getJSON } from "./api.js";
import { predictPixels } from "./input.js";
import { className, percent, t } from "./i18n.js";
import { on, showStatus } from "./state.js";

let matrix = null, shown = null, cell = null;

function imageButton(index, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "thumb";
  button.setAttribute("aria-label", `${t("testset.test-image", { index })}: ${t("testset.use")}`);
  button.title = label;
  const img = document.createElement("img");
  img.src = `/api/testset/images/${index}.png`;
  img.alt = "";
  img.width = 56;
  img.height = 56;
  button.append(img);
  button.addEventListener("click", () => explain(index));
  return button;
}

async function explain(index) {
  try {
    const image = await getJSON(`/api/testset/images/${index}`);
    await predictPixels(image.pixels.map((row) => row.map((v) => v / 255)), t("testset.test-image", { index }));
  } catch (error) {
    showStatus(error.message, true);
  }
}

function renderShown() {
  const box = document.getElementById("test-image");
  box.replaceChildren();
  if (!shown) return;
  const caption = document.createElement("p");
  caption.textContent = t("testset.image", {
    index: shown.index, label: className(shown.label), predicted: className(shown.predicted),
    confidence: percent(shown.confidence),
  });
  caption.classList.toggle("wrong", shown.label !== shown.predicted);
  box.append(imageButton(shown.index, caption.textContent), caption);
}

async function showRandom(mistake) {
  try {
    shown = await getJSON(`/api/testset/random?mistake=${mistake}`);
    renderShown();
  } catch (error) {
    showStatus(error.message, true);
  }
}

function renderMatrix() {
  const table = document.getElementById("matrix");
  table.replaceChildren();
  if (!matrix) return;
  const largest = Math.max(...matrix.confusion_matrix.flat());
  const head = document.createElement("tr");
  head.append(document.createElement("td"));
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
      button.textContent = String(count);
      button.dataset.label = String(i);
      button.dataset.predicted = String(j);
      button.setAttribute("aria-label", t("testset.cell-label", { label: className(i), predicted: className(j), count }));
      const share = count / largest;
      button.style.backgroundColor = i === j ? `rgba(33, 102, 172, ${0.1 + 0.8 * share})` : `rgba(178, 24, 43, ${count ? 0.1 + 0.9 * Math.sqrt(share) : 0})`;
      button.classList.toggle("dark", i === j ? share > 0.5 : Math.sqrt(share) > 0.5);
      button.addEventListener("click", () => showCell(i, j));
      td.append(button);
      tr.append(td);
    });
    table.append(tr);
  });
}

async function showCell(label, predicted) {
  try {
    cell = await getJSON(`/api/testset/confusion/${label}/${predicted}?limit=48`);
    renderCell();
  } catch (error) {
    showStatus(error.message, true);
  }
}

function renderCell() {
  const box = document.getElementById("cell");
  box.replaceChildren();
  if (!cell) return;
  const heading = document.createElement("h3");
  heading.textContent = t("testset.cell", { label: className(cell.label), predicted: className(cell.predicted), count: cell.count });
  const grid = document.createElement("div");
  grid.className = "grid";
  grid.append(...cell.indices.map((index) => imageButton(index, t("testset.test-image", { index }))));
  box.append(heading, cell.count ? grid : Object.assign(document.createElement("p"), { textContent: t("testset.none") }));
}

async function load() {
  try {
    matrix = await getJSON("/api/testset");
    renderMatrix();
  } catch (error) {
    document.getElementById("testset").classList.add("unavailable");
    document.getElementById("cell").textContent = error.message;
  }
}

export function init() {
  document.getElementById("random").addEventListener("click", () => showRandom(false));
  document.getElementById("mistake").addEventListener("click", () => showRandom(true));
  on("model", load);
  on("lang", () => { renderShown(); renderMatrix(); renderCell(); });
}
