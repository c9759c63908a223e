// The "why" view: for the selected class, its template w_c, the contribution map w_c ⊙ x of the
// current input, and the 28×28 input the model saw.
import { drawGrey, drawMap, maxAbs } from "./colors.js";
import { className, t } from "./i18n.js";
import { on, select, state } from "./state.js";

let templateLimit = 1;

function fillChoices() {
  const choice = document.getElementById("explain-class");
  const chosen = state.selected ?? 0;
  choice.replaceChildren(...state.model.classes.en.map((_, label) => {
    const option = document.createElement("option");
    option.value = String(label);
    option.textContent = className(label);
    return option;
  }));
  choice.value = String(chosen);
}

function render() {
  if (!state.model) return;
  const label = state.selected ?? 0;
  document.getElementById("explain-class").value = String(label);
  drawMap(document.getElementById("template"), state.model.templates[label], templateLimit);
  const result = state.result;
  const sum = document.getElementById("explain-sum");
  if (!result || !result.contributions) { sum.textContent = ""; return; }
  const map = result.contributions[label];
  drawMap(document.getElementById("contribution"), map, maxAbs(map));
  drawGrey(document.getElementById("seen"), result.input);
  const total = map.flat().reduce((a, b) => a + b, 0);
  sum.textContent = t("explain.sum", {
    name: className(label), sum: total.toFixed(2), bias: state.model.biases[label].toFixed(2),
    logit: result.logits[label].toFixed(2),
  });
}

export function init() {
  on("model", () => { templateLimit = maxAbs(state.model.templates.flat()); fillChoices(); render(); });
  on("lang", () => { if (state.model) fillChoices(); });
  on("select", render);
  document.getElementById("explain-class").addEventListener("change", (event) => select(Number(event.target.value)));
}
