// The "why" view: for the selected class, its template w_c, the contribution map w_c ⊙ x of the
// current input, and the input the model saw (grey or colour images). For a run of named features,
// a table of each feature's weight w_c and its contribution to the score instead.
import { channelsOf, diverging, drawImage, drawMap, drawRGB, maxAbs } from "./colors.js";
import { className, number, t } from "./i18n.js";
import { inputSpec, on, select, state } from "./state.js";

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
  const spec = inputSpec();
  const label = state.selected ?? 0;
  document.getElementById("explain-class").value = String(label);
  document.getElementById("explain").classList.toggle("features", spec.kind === "features");
  if (spec.kind === "features") { renderWeights(label); return; }
  document.getElementById("seen-caption").textContent = t("explain.seen", { height: spec.height, width: spec.width });
  const template = channelsOf(state.model.templates[label]);
  const caption = document.getElementById("template-caption");
  caption.textContent = t(template.length === 3 ? "explain.template-rgb" : "explain.template");
  if (template.length === 3) drawRGB(document.getElementById("template"), template, templateLimit);
  else drawMap(document.getElementById("template"), template[0], templateLimit);
  const result = state.result;
  const sum = document.getElementById("explain-sum");
  if (!result || !result.contributions) { sum.textContent = ""; return; }
  const map = channelsOf(result.contributions[label]);
  const summed = map[0].map((row, y) => row.map((_, x) => map.reduce((s, channel) => s + channel[y][x], 0)));
  drawMap(document.getElementById("contribution"), summed, maxAbs(summed));
  drawImage(document.getElementById("seen"), channelsOf(result.input));
  const total = summed.flat().reduce((a, b) => a + b, 0);
  sum.textContent = t("explain.sum", {
    name: className(label), sum: number(total, 2), bias: number(state.model.biases[label], 2),
    logit: number(result.logits[label], 2),
  });
}

// Features: one row per feature, its weight for the class (a bar, red up, blue down) and, with an
// example, weight × its standardised value.
function renderWeights(label) {
  const names = inputSpec().feature_names || [];
  const weights = (state.model.weights || state.model.templates)[label].flat();
  const limit = maxAbs([weights]);
  const result = state.result;
  const body = document.querySelector("#weights tbody");
  body.replaceChildren(...names.map((name, i) => {
    const row = document.createElement("tr");
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = name;
    const weight = document.createElement("td");
    const bar = document.createElement("span");
    bar.className = "wbar";
    bar.style.width = `${(50 * Math.abs(weights[i]) / limit).toFixed(1)}%`;
    bar.style.background = `rgb(${diverging(weights[i] / limit).join(",")})`;
    const value = document.createElement("span");
    value.textContent = number(weights[i], 3);
    weight.append(value, bar);
    const contribution = document.createElement("td");
    const contributions = result && result.contributions && result.contributions[label];
    contribution.textContent = contributions ? number(contributions.flat()[i], 3) : "—";
    row.append(head, weight, contribution);
    return row;
  }));
  const sum = document.getElementById("explain-sum");
  if (!result || !result.contributions) { sum.textContent = ""; return; }
  const total = result.contributions[label].flat().reduce((a, b) => a + b, 0);
  sum.textContent = t("explain.sum-features", {
    name: className(label), sum: number(total, 2), bias: number(state.model.biases[label], 2),
    logit: number(result.logits[label], 2),
  });
}

export function init() {
  on("model", () => {
    const spec = inputSpec();
    templateLimit = spec.kind === "features" ? 1 : maxAbs([state.model.templates.flat(Infinity)]);
    fillChoices();
    render();
  });
  on("lang", () => { if (state.model) { fillChoices(); render(); } });
  on("select", render);
  on("result", render);
  document.getElementById("explain-class").addEventListener("change", (event) => select(Number(event.target.value)));
}
