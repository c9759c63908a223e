// The Train panel (only with `softmaxreg serve --allow-training`, which marks <body data-training="on">;
// otherwise the panel stays hidden and /api/train answers 403): settings, Start and Stop, and the run
// watched live over server-sent events (in the page's language): the curves (the training loss eight
// times an epoch, as the book's board draws it, on an x axis of the planned epochs), the ten templates
// at the same pace, the epoch and the progress within it. The run in progress is listed with the
// others. When the run finishes the server predicts with it, and every view reloads the model.
import { getJSON, postJSON } from "./api.js";
import { drawMap, maxAbs } from "./colors.js";
import { integer, lang, percent } from "./i18n.js";
import { drawCurves } from "./summary.js";
import { emit, on, showStatus, state } from "./state.js";

const WORDS = {
  en: {
    title: "Train a model", recipe: "Recipe", model: "Model", epochs: "Epochs (1–{max})", lr: "Learning rate",
    batch_size: "Batch size", weight_decay: "Weight decay", start: "Start", stop: "Stop",
    help: "Empty fields take the recipe's value. One run trains at a time; every page watching sees it.",
    templates: "The ten templates w_c (red raises the class's score, blue lowers it)",
    curves: "Curves of the run being trained", runs: "Runs", run: "Run", epochs_done: "Epochs",
    val_acc: "Val accuracy", use: "Predict with it", serving: "served now", action: "Action", training: "training now",
    idle: "No run trained yet on this page.", starting: "Starting a run…",
    running: "Training {run}: epoch {epoch} of {epochs}", stopping: "Stopping {run} after this step…",
    finished: "Finished.", stopped: "Stopped.", diverged: "Diverged.", failed: "Failed.",
    batch: "batch {batch} of {batches}",
    switched: "The page now predicts with {run}.", empty: "None yet.",
    lost: "Lost the connection to the server; reconnecting… (a run that was training keeps its completed epochs: resume it with softmaxreg train --resume)",
  },
  vi: {
    title: "Huấn luyện một mô hình", recipe: "Công thức", model: "Mô hình", epochs: "Số epoch (1–{max})",
    lr: "Tốc độ học", batch_size: "Kích thước batch", weight_decay: "Suy giảm trọng số", start: "Bắt đầu",
    stop: "Dừng", help: "Ô để trống lấy giá trị của công thức. Mỗi lúc chỉ một lần huấn luyện; mọi trang đang xem đều thấy nó.",
    templates: "Mười khuôn mẫu w_c (đỏ làm tăng điểm của lớp, xanh làm giảm)",
    curves: "Đường cong của lần huấn luyện đang chạy", runs: "Các lần huấn luyện", run: "Lần huấn luyện",
    epochs_done: "Số epoch", val_acc: "Độ chính xác kiểm định", use: "Dự đoán bằng nó", serving: "đang dùng",
    action: "Thao tác", training: "đang huấn luyện",
    idle: "Chưa huấn luyện lần nào trên trang này.", starting: "Đang bắt đầu…",
    running: "Đang huấn luyện {run}: epoch {epoch}/{epochs}", stopping: "Đang dừng {run} sau bước này…",
    finished: "Xong.", stopped: "Đã dừng.", diverged: "Phân kỳ.", failed: "Thất bại.",
    batch: "batch {batch}/{batches}",
    switched: "Trang giờ dự đoán bằng {run}.", empty: "Chưa có.",
    lost: "Mất kết nối tới máy chủ; đang kết nối lại… (lần huấn luyện đang chạy giữ các epoch đã xong: tiếp tục bằng softmaxreg train --resume)",
  },
};

let info = null; // GET /api/train: recipes, class names, limits
let run = null; // the live state (the "state" events)
let seenVersion = null; // the model_version the page's views show
let noModel = false;
let events = null; // the EventSource, opened again when the language changes (its messages are in it)
const $ = (id) => document.getElementById(id);
const FIELDS = ["recipe", "model", "epochs", "lr", "batch_size", "weight_decay"];

function tt(key, values = {}) {
  const text = (WORDS[lang] ?? WORDS.en)[key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function fillRecipe() { // the recipe's settings as placeholders: an empty field takes them
  const recipe = info.recipes[$("train-recipe").value];
  for (const name of ["epochs", "lr", "batch_size", "weight_decay"]) $(`train-${name}`).placeholder = String(recipe[name]);
}

function settings() {
  const body = { recipe: $("train-recipe").value, model: $("train-model").value };
  for (const name of ["epochs", "lr", "batch_size", "weight_decay"]) {
    const value = $(`train-${name}`).value.trim();
    if (value !== "") body[name] = Number(value);
  }
  return body;
}

// Start: the focus goes to Stop (Start is disabled while the run trains); a refused setting is named by
// its label on the form, marked invalid and focused.
async function start(event) {
  event.preventDefault();
  markInvalid(null);
  try {
    const snapshot = await postJSON(`/api/train?lang=${lang}`, settings());
    message("", false);
    showStatus("");
    onState({ data: JSON.stringify(snapshot) });
    $("train-stop").focus();
  } catch (error) {
    const field = FIELDS.find((name) => error.message.includes(`\`${name}\``));
    message(field ? error.message.replaceAll(`\`${field}\``, `“${labelOf(field)}”`) : error.message, true);
    if (field) markInvalid(field);
  }
}

function labelOf(name) {
  return $(`train-${name}`).closest("label").querySelector("span").textContent;
}

function markInvalid(name) {
  for (const field of FIELDS) $(`train-${field}`).removeAttribute("aria-invalid");
  if (!name) return;
  const input = $(`train-${name}`);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", "train-message");
  input.focus();
}

// Stop: Stop is disabled at once, so the focus goes to the run's status line, which says it is stopping.
async function stop() {
  $("train-state").focus();
  try {
    await postJSON(`/api/train/stop?lang=${lang}`, {});
  } catch (error) {
    message(error.message, true);
    $("train-stop").focus();
  }
}

function message(text, isError) {
  const line = $("train-message");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function renderStatus() {
  const live = ["starting", "running", "stopping"].includes(run.status);
  $("train-start").disabled = live;
  $("train-stop").disabled = !live || run.status === "stopping";
  const progress = run.progress;
  const epochs = run.config ? run.config.epochs : 0;
  const epoch = progress ? progress.epoch : Math.min(run.history.length + 1, epochs);
  let text = tt(run.status, { run: run.run ?? "…", epoch, epochs });
  if (!live && run.message) text += " " + run.message;
  const line = $("train-state");
  line.textContent = text;
  line.classList.toggle("error", run.status === "diverged" || run.status === "failed");
  line.dataset.status = run.status;
  renderProgress();
}

function renderProgress() {
  const bar = $("train-bar"), detail = $("train-batch");
  const p = run.progress;
  bar.hidden = !p;
  detail.textContent = p ? tt("batch", p) : "";
  if (p) bar.value = p.batch / p.batches;
}

function renderLive() {
  const canvas = $("train-curves");
  const points = run.points || [];
  $("train").classList.toggle("no-epoch", !run.history.length && !points.length); // no empty chart before the first point
  const epochs = run.config ? run.config.epochs : run.history.length; // the planned span, from the start
  drawCurves(canvas, { rows: run.history, points, epochs }, $("train-legend"));
  canvas.dataset.epochs = String(run.history.length);
  renderTemplates();
}

function renderTemplates() {
  const grid = $("train-templates");
  grid.dataset.epochs = String(run.history.length);
  grid.dataset.points = String((run.points || []).length);
  if (!run.templates) { grid.replaceChildren(); return; }
  const limit = maxAbs(run.templates.flat());
  if (grid.children.length !== run.templates.length) grid.replaceChildren(...run.templates.map(templateFigure));
  run.templates.forEach((map, label) => drawMap(grid.children[label].querySelector("canvas"), map, limit));
  renderNames();
}

function templateFigure() {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.className = "pixels";
  canvas.width = canvas.height = 28;
  const caption = document.createElement("figcaption");
  figure.append(canvas, caption);
  return figure;
}

function renderNames() {
  const names = info.classes[lang] ?? info.classes.en;
  [...$("train-templates").children].forEach((figure, label) => {
    figure.querySelector("figcaption").textContent = names[label];
    figure.querySelector("canvas").setAttribute("aria-label", names[label]);
  });
}

async function renderRuns() {
  const body = $("train-runs").querySelector("tbody");
  let listed;
  try {
    listed = await getJSON("/api/runs");
  } catch (error) {
    message(error.message, true);
    return;
  }
  const live = run && ["starting", "running", "stopping"].includes(run.status);
  const items = listed.runs.filter((item) => !(live && item.name === run.run));
  if (live) { // the run in progress heads the list, from the live state
    const last = run.history[run.history.length - 1];
    items.unshift({ name: run.run ?? "…", model: run.config.model, epochs: run.history.length,
      planned_epochs: run.config.epochs, val_acc: last ? last.val_acc : null, training: true });
  }
  if (!items.length) {
    const cell = document.createElement("td");
    cell.colSpan = 5;
    cell.textContent = tt("empty");
    body.replaceChildren(document.createElement("tr"));
    body.firstChild.append(cell);
    return;
  }
  body.replaceChildren(...items.map((item) => {
    const row = document.createElement("tr");
    const cells = [item.name, item.model, `${integer(item.epochs)}/${integer(item.planned_epochs)}`,
      item.val_acc == null ? "—" : percent(item.val_acc)];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const action = document.createElement("td");
    if (item.training) {
      action.textContent = tt("training");
      row.classList.add("live");
    } else if (item.name === listed.serving) {
      action.textContent = tt("serving");
      row.classList.add("selected");
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = tt("use");
      button.setAttribute("aria-label", `${tt("use")}: ${item.name}`);
      button.addEventListener("click", () => postJSON("/api/runs/serve", { run: item.name }).catch((e) => message(e.message, true)));
      action.append(button);
    }
    row.append(action);
    return row;
  }));
}

async function reloadModel() { // the server predicts with another run: every view shows it
  try {
    state.model = await getJSON("/api/model");
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  noModel = false;
  showStatus(tt("switched", { run: run.serving }));
  emit("model");
}

function onState(event) {
  const previous = run;
  run = JSON.parse(event.data);
  const live = ["starting", "running", "stopping"].includes(run.status);
  if (live && previous && !["starting", "running", "stopping"].includes(previous.status)) {
    showStatus(""); // a new run: last run's "The page now predicts with …" is over
  }
  if (!live && previous && document.activeElement === document.body) $("train-start").focus(); // the run ended
  if (run.history.length && run.sent_at && (!previous || previous.history.length !== run.history.length)) {
    // how long after the epoch was in the run folder the page has it (same machine: same clock)
    $("train").dataset.latency = String(Date.now() / 1000 - run.sent_at);
  }
  renderStatus();
  renderLive();
  if (seenVersion === null) seenVersion = noModel ? 0 : run.model_version;
  if (run.model_version !== seenVersion) {
    seenVersion = run.model_version;
    reloadModel();
  }
  if (!previous || previous.status !== run.status || previous.model_version !== run.model_version
      || previous.history.length !== run.history.length || previous.run !== run.run) renderRuns();
}

function onPoint(event) { // the training loss a fraction of an epoch further, and the templates of that moment
  if (!run) return;
  const { point, templates } = JSON.parse(event.data);
  run.points = [...(run.points || []), point];
  run.templates = templates;
  renderLive();
}

function connect() {
  if (events) events.close();
  events = new EventSource(`/api/train/events?lang=${lang}`); // reconnects by itself, and gets the whole state first
  events.addEventListener("state", onState);
  events.addEventListener("progress", onProgress);
  events.addEventListener("point", onPoint);
  events.addEventListener("error", () => message(tt("lost"), true)); // it retries; the next state clears this
  events.addEventListener("open", () => message("", false));
}

function onProgress(event) {
  if (!run) return;
  run.progress = JSON.parse(event.data);
  if (run.status === "starting") run.status = "running";
  renderStatus();
}

function translate() {
  for (const element of document.querySelectorAll("[data-train-i18n]")) {
    element.textContent = tt(element.dataset.trainI18n, { max: info.max_epochs });
  }
  $("train-curves").setAttribute("aria-label", tt("curves"));
  if (run) { renderStatus(); renderLive(); renderRuns(); }
}

function changeLang() {
  translate();
  if (events) connect(); // the server's messages (how a run ended) in the new language
}

export async function init() {
  if (document.body.dataset.training !== "on") return; // training is off: no panel, no request (they would get 403)
  on("no-model", () => { noModel = true; });
  try {
    info = await getJSON("/api/train");
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  $("train").hidden = false;
  fillRecipe();
  translate();
  $("train-recipe").addEventListener("change", fillRecipe);
  $("train-form").addEventListener("submit", start);
  $("train-stop").addEventListener("click", stop);
  on("lang", changeLang);
  connect();
}
