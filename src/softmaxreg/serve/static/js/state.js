// What the views share: the model's description, the current prediction, the selected class.
// Views listen to `bus` events instead of calling each other:
//   "model" (model info loaded), "result" (a new prediction), "select" (a class chosen), "lang" (language changed),
//   "no-model" (the server has no run yet).

export const bus = new EventTarget();

// `source` says what was predicted as words to translate: { key, values } (see i18n.t), so that text
// already shown follows a change of language.
export const state = { model: null, result: null, source: null, selected: null };

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

// The model's input, from /api/model's `input` entry (runs/inputs.py); runs without one are Fashion-MNIST.
export function inputSpec() {
  const model = state.model;
  if (model && model.input) return model.input;
  const shape = (model && model.input_shape) || [1, 28, 28];
  return { kind: "images", channels: shape[0], height: shape[1], width: shape[2], light_on_dark: true };
}

export function showStatus(text, isError = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// A message for screen readers only (a polite live region), e.g. what an action changed elsewhere.
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50); // a change, even when the text repeats
}
