// The page's words in English and Vietnamese; class names come from the model (/api/model).
import { emit, state } from "./state.js";

const WORDS = {
  en: {
    skip: "Skip to the image input",
    lead: "A linear classifier of Fashion-MNIST: ten templates, one score per class (template · image + bias), and the softmax of those scores.",
    language: "Language",
    "input.title": "Your image",
    "input.choose": "Choose an image…",
    "input.drop": "Drop an image here, or paste one (Ctrl+V).",
    "input.draw": "Or draw a garment, light on black. With the keyboard: arrow keys draw, Shift+arrows move.",
    "input.clear": "Clear",
    "input.canvas": "Drawing canvas",
    "input.drawing": "your drawing",
    "input.pasted": "the pasted image",
    "prediction.title": "What the model sees",
    "prediction.empty": "Choose, drop, paste or draw an image.",
    "prediction.empty-file": "Choose, drop or paste an image.",
    "prediction.empty-features": "Type or paste an example.",
    "explain.template-rgb": "Template w_c in colour: grey is 0; a colour brighter than grey raises the score",
    "prediction.all": "All {n} classes: score (logit) and probability. Choose a class to see why.",
    "lead-own": "A linear classifier: one template of weights per class, one score per class (template · input + bias), and the softmax of those scores.",
    "prediction.class": "Class",
    "prediction.score": "Score",
    "prediction.probability": "Probability",
    "prediction.of": "Prediction for {source}",
    "prediction.inverted": "(inverted: light background)",
    "explain.title": "Why",
    "explain.class": "Class",
    "explain.template": "Template w_c: red pixels raise the score, blue lower it",
    "explain.contribution": "Contribution w_c ⊙ x of your image",
    "explain.seen": "The {height}×{width} image the model saw",
    "explain.sum": "Score of {name} = sum of the contributions {sum} + bias {bias} = {logit}",
    "testset.title": "Test set",
    "testset.random": "Random test image",
    "testset.mistake": "Random mistake",
    "testset.matrix": "Confusion matrix",
    "testset.matrix-help": "Rows: true class; columns: predicted class. Choose a cell to see its images.",
    "testset.true": "true",
    "testset.predicted": "predicted",
    "testset.image": "Test image {index}: true {label}, predicted {predicted} ({confidence})",
    "testset.cell": "True {label}, predicted {predicted}: {count} images",
    "testset.cell-label": "true {label}, predicted {predicted}: {count} images",
    "testset.cell-label-one": "true {label}, predicted {predicted}: 1 image",
    "testset.use": "Explain this image",
    "testset.none": "No images in this cell.",
    "testset.test-image": "test image {index}",
    "summary.title": "The run",
    "summary.test_accuracy": "Test accuracy",
    "summary.val_acc": "Last validation accuracy",
    "summary.epochs": "Epochs",
    "summary.best_epoch": "Best epoch (lowest val loss)",
    "summary.model_epoch": "Model served: epoch",
    "summary.seconds": "Training time",
    "summary.curves": "Training curves: train loss (several points an epoch), validation loss and validation accuracy per epoch",
    "summary.curves-epochs": "Training curves: train loss, validation loss and validation accuracy per epoch",
    "summary.train_loss": "train loss",
    "summary.val_loss": "val loss",
    "summary.val_acc_curve": "val accuracy",
    "summary.epoch": "epoch",
    "input.features-title": "Your example",
    "input.features-help": "Type a value for each feature, or paste CSV rows (a header of the feature names first).",
    "input.features-predict": "Predict",
    "input.features-csv": "CSV rows",
    "input.features-row": "your example",
    "input.cursor": "Drawing cursor",
    "prediction.nomodel": "No model yet: train one with the Train panel above.",
    "prediction.announce": "Prediction for {source}: {name}, {probability}.",
    "explain.weights": "Weights w_c of each feature (red raises the score, blue lowers it)",
    "explain.feature": "Feature",
    "explain.weight": "Weight",
    "explain.contribution-one": "Contribution",
    "explain.sum-features": "Score of {name} = sum of weight × value {sum} + bias {bias} = {logit}",
    "testset.cell-one": "True {label}, predicted {predicted}: 1 image",
    "testset.cell-some": "True {label}, predicted {predicted}: {shown} of {count} images",
    "testset.more": "Show {n} more",
    "testset.thumbs-help": "Choose an image to see the model's prediction and why.",
    "testset.skip": "Skip past the confusion matrix",
    "testset.grid": "Confusion matrix: arrow keys move between cells; Enter shows a cell's images",
    "testset.random.rows": "Random test row",
    "testset.matrix-help.rows": "Rows: true class; columns: predicted class. Choose a cell to see its examples.",
    "testset.grid.rows": "Confusion matrix: arrow keys move between cells; Enter shows a cell's examples",
    "testset.image.rows": "Test row {index}: true {label}, predicted {predicted} ({confidence})",
    "testset.cell.rows": "True {label}, predicted {predicted}: {count} rows",
    "testset.cell-label.rows": "true {label}, predicted {predicted}: {count} rows",
    "testset.cell-label-one.rows": "true {label}, predicted {predicted}: 1 row",
    "testset.cell-one.rows": "True {label}, predicted {predicted}: 1 row",
    "testset.cell-some.rows": "True {label}, predicted {predicted}: {shown} of {count} rows",
    "testset.use.rows": "Explain this row",
    "testset.none.rows": "No rows in this cell.",
    "testset.test-image.rows": "test row {index}",
    "testset.thumbs-help.rows": "Choose a row to see the model's prediction and why.",
    "footer.api": "JSON API:",
    loading: "Loading…",
    working: "Working…",
  },
  vi: {
    skip: "Chuyển đến phần nhập ảnh",
    lead: "Bộ phân loại tuyến tính cho Fashion-MNIST: mười mẫu, mỗi lớp một điểm (mẫu · ảnh + độ chệch), và softmax của các điểm đó.",
    language: "Ngôn ngữ",
    "input.title": "Ảnh của bạn",
    "input.choose": "Chọn ảnh…",
    "input.drop": "Thả ảnh vào đây, hoặc dán ảnh (Ctrl+V).",
    "input.draw": "Hoặc vẽ một món đồ, nét sáng trên nền đen. Bằng bàn phím: phím mũi tên để vẽ, Shift+mũi tên để di chuyển.",
    "input.clear": "Xoá",
    "input.canvas": "Khung vẽ",
    "input.drawing": "hình bạn vẽ",
    "input.pasted": "ảnh đã dán",
    "prediction.title": "Mô hình thấy gì",
    "prediction.empty": "Chọn, thả, dán hoặc vẽ một ảnh.",
    "prediction.empty-file": "Chọn, thả hoặc dán một ảnh.",
    "prediction.empty-features": "Nhập hoặc dán một mẫu.",
    "explain.template-rgb": "Mẫu w_c theo màu: xám là 0; màu sáng hơn xám làm tăng điểm",
    "prediction.all": "Cả {n} lớp: điểm (logit) và xác suất. Chọn một lớp để xem lý do.",
    "lead-own": "Bộ phân loại tuyến tính: mỗi lớp một mẫu trọng số, một điểm (mẫu · đầu vào + độ chệch), và softmax của các điểm đó.",
    "prediction.class": "Lớp",
    "prediction.score": "Điểm",
    "prediction.probability": "Xác suất",
    "prediction.of": "Dự đoán cho {source}",
    "prediction.inverted": "(đã đảo màu: nền sáng)",
    "explain.title": "Vì sao",
    "explain.class": "Lớp",
    "explain.template": "Mẫu w_c: điểm ảnh đỏ làm tăng điểm, xanh làm giảm",
    "explain.contribution": "Đóng góp w_c ⊙ x của ảnh bạn",
    "explain.seen": "Ảnh {height}×{width} mà mô hình thấy",
    "explain.sum": "Điểm của {name} = tổng đóng góp {sum} + độ chệch {bias} = {logit}",
    "testset.title": "Tập kiểm tra",
    "testset.random": "Ảnh kiểm tra ngẫu nhiên",
    "testset.mistake": "Lỗi ngẫu nhiên",
    "testset.matrix": "Ma trận nhầm lẫn",
    "testset.matrix-help": "Hàng: lớp thật; cột: lớp dự đoán. Chọn một ô để xem các ảnh của nó.",
    "testset.true": "thật",
    "testset.predicted": "dự đoán",
    "testset.image": "Ảnh kiểm tra {index}: thật {label}, dự đoán {predicted} ({confidence})",
    "testset.cell": "Thật {label}, dự đoán {predicted}: {count} ảnh",
    "testset.cell-label": "thật {label}, dự đoán {predicted}: {count} ảnh",
    "testset.cell-label-one": "thật {label}, dự đoán {predicted}: 1 ảnh",
    "testset.use": "Giải thích ảnh này",
    "testset.none": "Ô này không có ảnh nào.",
    "testset.test-image": "ảnh kiểm tra {index}",
    "summary.title": "Lần huấn luyện",
    "summary.test_accuracy": "Độ chính xác trên tập kiểm tra",
    "summary.val_acc": "Độ chính xác kiểm định cuối",
    "summary.epochs": "Số epoch",
    "summary.best_epoch": "Epoch tốt nhất (val loss thấp nhất)",
    "summary.model_epoch": "Mô hình đang dùng: epoch",
    "summary.seconds": "Thời gian huấn luyện",
    "summary.curves": "Đường cong huấn luyện: train loss (vài điểm mỗi epoch), val loss và độ chính xác kiểm định theo epoch",
    "summary.curves-epochs": "Đường cong huấn luyện: train loss, val loss và độ chính xác kiểm định theo epoch",
    "summary.train_loss": "train loss",
    "summary.val_loss": "val loss",
    "summary.val_acc_curve": "độ chính xác kiểm định",
    "summary.epoch": "epoch",
    "input.features-title": "Mẫu của bạn",
    "input.features-help": "Nhập giá trị cho từng đặc trưng, hoặc dán các hàng CSV (hàng đầu là tên các đặc trưng).",
    "input.features-predict": "Dự đoán",
    "input.features-csv": "Các hàng CSV",
    "input.features-row": "mẫu của bạn",
    "input.cursor": "Con trỏ vẽ",
    "prediction.nomodel": "Chưa có mô hình: hãy huấn luyện một mô hình ở mục Huấn luyện phía trên.",
    "prediction.announce": "Dự đoán cho {source}: {name}, {probability}.",
    "explain.weights": "Trọng số w_c của từng đặc trưng (đỏ làm tăng điểm, xanh làm giảm)",
    "explain.feature": "Đặc trưng",
    "explain.weight": "Trọng số",
    "explain.contribution-one": "Đóng góp",
    "explain.sum-features": "Điểm của {name} = tổng trọng số × giá trị {sum} + độ chệch {bias} = {logit}",
    "testset.cell-one": "Thật {label}, dự đoán {predicted}: 1 ảnh",
    "testset.cell-some": "Thật {label}, dự đoán {predicted}: {shown} trong {count} ảnh",
    "testset.more": "Xem thêm {n} ảnh",
    "testset.thumbs-help": "Chọn một ảnh để xem mô hình dự đoán gì và vì sao.",
    "testset.skip": "Bỏ qua ma trận nhầm lẫn",
    "testset.grid": "Ma trận nhầm lẫn: phím mũi tên để đi giữa các ô; Enter để xem ảnh của ô",
    "testset.random.rows": "Hàng kiểm tra ngẫu nhiên",
    "testset.matrix-help.rows": "Hàng: lớp thật; cột: lớp dự đoán. Chọn một ô để xem các mẫu của nó.",
    "testset.grid.rows": "Ma trận nhầm lẫn: phím mũi tên để đi giữa các ô; Enter để xem các mẫu của ô",
    "testset.image.rows": "Hàng kiểm tra {index}: thật {label}, dự đoán {predicted} ({confidence})",
    "testset.cell.rows": "Thật {label}, dự đoán {predicted}: {count} hàng",
    "testset.cell-label.rows": "thật {label}, dự đoán {predicted}: {count} hàng",
    "testset.cell-label-one.rows": "thật {label}, dự đoán {predicted}: 1 hàng",
    "testset.cell-one.rows": "Thật {label}, dự đoán {predicted}: 1 hàng",
    "testset.cell-some.rows": "Thật {label}, dự đoán {predicted}: {shown} trong {count} hàng",
    "testset.use.rows": "Giải thích hàng này",
    "testset.none.rows": "Ô này không có hàng nào.",
    "testset.test-image.rows": "hàng kiểm tra {index}",
    "testset.thumbs-help.rows": "Chọn một hàng để xem mô hình dự đoán gì và vì sao.",
    "footer.api": "API JSON:",
    loading: "Đang tải…",
    working: "Đang xử lý…",
  },
};

export let lang = "en";

export function t(key, values = {}) {
  const text = WORDS[lang][key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function className(label) {
  if (!state.model) return String(label);
  const names = state.model.classes[lang] ?? state.model.classes.en;
  return names[label] ?? String(label);
}

// One locale for every number on the page: the page's language (Vietnamese: 0,95 and 1.000).
export function number(value, digits = 2) {
  return value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function percent(p) {
  return number(100 * p, 1) + "%";
}

export function integer(value) {
  return value.toLocaleString(lang, { maximumFractionDigits: 0 });
}

export function setLang(value) {
  lang = value in WORDS ? value : "en";
  document.documentElement.lang = lang;
  document.getElementById("lang").value = lang;
  const classes = state.model ? state.model.classes.en.length : 10;
  const n = classes === 10 ? { en: "ten", vi: "mười" }[lang] : String(classes);
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n, { height: 28, width: 28, n });
  }
  for (const element of document.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
  emit("lang");
}

export function init() {
  document.getElementById("lang").addEventListener("change", (event) => setLang(event.target.value));
}
