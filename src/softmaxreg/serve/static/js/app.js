// The page: load the model's description, then start every view. One module per view; each listens
// to the shared state's events (see state.js). Add a view by adding it to VIEWS and a <section>.
import { getJSON } from "./api.js";
import * as i18n from "./i18n.js";
import * as input from "./input.js";
import * as prediction from "./prediction.js";
import * as explain from "./explain.js";
import * as testset from "./testset.js";
import * as summary from "./summary.js";
import * as train from "./train.js";
import { emit, showStatus, state } from "./state.js";

export const VIEWS = [input, prediction, explain, testset, summary, train];

async function start() {
  i18n.init();
  for (const view of VIEWS) view.init();
  const asked = new URLSearchParams(location.search).get("lang");
  try {
    if ((await getJSON("/api/health")).run === null) { // a server started to train its first model
      i18n.setLang(asked || "en");
      emit("no-model"); // the prediction card says so, and the Train panel offers to train one
      return;
    }
    state.model = await getJSON("/api/model");
  } catch (error) {
    showStatus(error.message, true);
    return;
  }
  i18n.setLang(asked || state.model.lang);
  emit("model");
}

start();
