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
    "prediction.title": "What the model sees",
    "prediction.empty": "Choose, drop, paste or draw an image.",
    "prediction.all": "All ten classes: score (logit) and probability. Choose a class to see why.",
    "prediction.class": "Class",
    "prediction.score": "Score",
    "prediction.probability": "Probability",
    "prediction.of": "Prediction for {source}",
    "prediction.inverted": "(inverted: light background)",
    "explain.title": "Why",
    "explain.class": "Class",
    "explain.template": "Template w_c: red pixels raise the score, blue lower it",
    "explain.contribution": "Contribution w_c ⊙ x of your image",
    "explain.seen": "The 28×28 image the model saw",
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
    "summary.curves": "Training curves: train loss, validation loss and validation accuracy per epoch",
    "summary.train_loss": "train loss",
    "summary.val_loss": "val loss",
    "summary.val_acc_curve": "val accuracy",
    "summary.epoch": "epoch",
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
    "prediction.title": "Mô hình thấy gì",
    "prediction.empty": "Chọn, thả, dán hoặc vẽ một ảnh.",
    "prediction.all": "Cả mười lớp: điểm (logit) và xác suất. Chọn một lớp để xem lý do.",
    "prediction.class": "Lớp",
    "prediction.score": "Điểm",
    "prediction.probability": "Xác suất",
    "prediction.of": "Dự đoán cho {source}",
    "prediction.inverted": "(đã đảo màu: nền sáng)",
    "explain.title": "Vì sao",
    "explain.class": "Lớp",
    "explain.template": "Mẫu w_c: điểm ảnh đỏ làm tăng điểm, xanh làm giảm",
    "explain.contribution": "Đóng góp w_c ⊙ x của ảnh bạn",
    "explain.seen": "Ảnh 28×28 mà mô hình thấy",
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
    "summary.curves": "Đường cong huấn luyện: train loss, val loss và độ chính xác kiểm định theo epoch",
    "summary.train_loss": "train loss",
    "summary.val_loss": "val loss",
    "summary.val_acc_curve": "độ chính xác kiểm định",
    "summary.epoch": "epoch",
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
  return state.model ? state.model.classes[lang][label] : String(label);
}

export function percent(p) {
  return (100 * p).toLocaleString(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + "%";
}

export function setLang(value) {
  lang = value in WORDS ? value : "en";
  document.documentElement.lang = lang;
  document.getElementById("lang").value = lang;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  document.getElementById("canvas").setAttribute("aria-label", t("input.canvas"));
  document.getElementById("curves").setAttribute("aria-label", t("summary.curves"));
  emit("lang");
}

export function init() {
  document.getElementById("lang").addEventListener("change", (event) => setLang(event.target.value));
}
