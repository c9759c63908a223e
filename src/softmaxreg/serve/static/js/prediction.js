// The prediction view: the top classes with probability bars, and every class's score and probability.
// Before the first prediction it says how to make one (and shows no empty table).
import { className, number, percent, t } from "./i18n.js";
import { inputSpec, on, select, state } from "./state.js";

const TOP = 3;
let noModel = false;

// What was predicted, in the page's language ("your drawing", "test image 12"...).
export function sourceText(source = state.source) {
  if (!source) return "";
  return typeof source === "string" ? source : t(source.key, source.values);
}

function render() {
  const result = state.result;
  const source = document.getElementById("prediction-source");
  const top = document.getElementById("top");
  const table = document.getElementById("scores");
  const body = table.querySelector("tbody");
  top.replaceChildren();
  body.replaceChildren();
  table.hidden = !result;
  if (!result) {
    const spec = inputSpec();
    const how = spec.kind === "features" ? "prediction.empty-features"
      : spec.channels === 1 && spec.height <= 64 && spec.width <= 64 ? "prediction.empty" : "prediction.empty-file";
    source.textContent = t(noModel && document.body.dataset.training === "on" ? "prediction.nomodel" : how);
    return;
  }
  source.textContent = t("prediction.of", { source: sourceText() }) + (result.inverted ? " " + t("prediction.inverted") : "");
  for (const item of result.top_k.slice(0, TOP)) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = className(item.label);
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${(100 * item.probability).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = percent(item.probability);
    li.append(name, bar, value);
    top.append(li);
  }
  result.logits.forEach((logit, label) => {
    const row = document.createElement("tr");
    const cell = document.createElement("th");
    cell.scope = "row";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.dataset.label = String(label);
    button.textContent = className(label);
    button.addEventListener("click", () => select(label));
    cell.append(button);
    const score = document.createElement("td");
    score.textContent = number(logit, 2);
    const probability = document.createElement("td");
    probability.textContent = percent(result.probabilities[label]);
    row.append(cell, score, probability);
    body.append(row);
  });
  markSelected();
}

// A class chosen: mark its row in place, so that the button the user pressed keeps the focus.
function markSelected() {
  for (const button of document.querySelectorAll("#scores tbody button")) {
    const chosen = Number(button.dataset.label) === state.selected;
    button.setAttribute("aria-pressed", String(chosen));
    button.closest("tr").classList.toggle("selected", chosen);
  }
}

export function init() {
  on("result", render);
  on("select", markSelected);
  on("lang", render);
  on("no-model", () => { noModel = true; render(); });
  on("model", () => { noModel = false; render(); });
  render();
}
