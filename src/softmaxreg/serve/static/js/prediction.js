// The prediction view: the top classes with probability bars, and all ten scores and probabilities.
import { className, percent, t } from "./i18n.js";
import { on, select, state } from "./state.js";

const TOP = 3;

function render() {
  const result = state.result;
  const source = document.getElementById("prediction-source");
  const top = document.getElementById("top");
  const body = document.querySelector("#scores tbody");
  top.replaceChildren();
  body.replaceChildren();
  if (!result) { source.textContent = t("prediction.empty"); return; }
  source.textContent = t("prediction.of", { source: state.source }) + (result.inverted ? " " + t("prediction.inverted") : "");
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
    row.classList.toggle("selected", label === state.selected);
    const cell = document.createElement("th");
    cell.scope = "row";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = className(label);
    button.setAttribute("aria-pressed", String(label === state.selected));
    button.addEventListener("click", () => select(label));
    cell.append(button);
    const score = document.createElement("td");
    score.textContent = logit.toFixed(2);
    const probability = document.createElement("td");
    probability.textContent = percent(result.probabilities[label]);
    row.append(cell, score, probability);
    body.append(row);
  });
}

export function init() {
  on("result", render);
  on("select", render);
  on("lang", render);
}
