// What the views share: the model's description, the current prediction, the selected class.
// Views listen to `bus` events instead of calling each other:
//   "model" (model info loaded), "result" (a new prediction), "select" (a class chosen), "lang" (language changed),
//   "no-model" (the server has no run yet).

export const bus = new EventTarget();

export const state = { model: null, result: null, source: "", selected: null };

export function emit(name) {
  bus.dispatchEvent(new Event(name));
}

export function on(name, handler) {
  bus.addEventListener(name, handler);
}

export function setResult(result, source) {
  state.result = result;
  state.source = source;
  state.selected = result.top_k[0].label;
  emit("result");
  emit("select");
}

export function select(label) {
  state.selected = label;
  emit("select");
}

export function showStatus(text, isError = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}
