"""The server's messages in the page's languages: one table, keyed by message id.

The code raises and logs in English, as the CLI does; a response is translated on its way out, for a
client that asks (``?lang=vi``, or ``Accept-Language: vi``; the JSON API answers in English by
default). `localize` finds the English template a message was written from and fills the same values
into the other language's template; the values are translated too when they are messages themselves
(``"`top_k` {problem}"``), and a message made of several sentences is translated sentence by
sentence. A message with no template stays English: a new message is never lost, only untranslated.

Add a message by adding its id with both templates here; a test checks that every id has both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

LANGS = ("en", "vi")
DEFAULT = "en"

MESSAGES: dict[str, dict[str, str]] = {
    # serve.errors: requests the API cannot use
    "json_invalid": {
        "en": "Expected a JSON body; it does not parse ({error}).",
        "vi": "Cần một thân JSON; không đọc được ({error}).",
    },
    "required": {"en": "`{name}` is required. See /docs for the API.", "vi": "Cần có `{name}`. Xem /docs để biết API."},
    "invalid": {
        "en": "`{name}` {problem}; got {got}. See /docs for the API.",
        "vi": "`{name}` {problem}; nhận được {got}. Xem /docs để biết API.",
    },
    "not_found": {
        "en": "No such page or endpoint: {path}. See /docs for the API.",
        "vi": "Không có trang hay endpoint nào như vậy: {path}. Xem /docs để biết API.",
    },
    "method": {
        "en": "{method} is not allowed on {path}. See /docs for the API.",
        "vi": "Không dùng được {method} với {path}. Xem /docs để biết API.",
    },
    "multipart": {
        "en": "Expected a multipart/form-data body with fields named `file`; it does not parse ({error}).",
        "vi": "Cần một thân multipart/form-data có các trường tên `file`; không đọc được ({error}).",
    },
    "bug": {
        "en": "Internal server error (a bug in softmaxreg; the server log has the details).",
        "vi": "Lỗi máy chủ (một lỗi của softmaxreg; nhật ký máy chủ có chi tiết).",
    },
    # pydantic's problems, as serve.errors words them
    "int": {
        "en": "must be a valid integer, unable to parse string as an integer",
        "vi": "phải là một số nguyên",
    },
    "float": {"en": "must be a valid number, unable to parse string as a number", "vi": "phải là một số"},
    "bool": {"en": "must be a valid boolean, unable to interpret input", "vi": "phải là true hoặc false"},
    "le": {"en": "must be less than or equal to {n}", "vi": "phải nhỏ hơn hoặc bằng {n}"},
    "ge": {"en": "must be greater than or equal to {n}", "vi": "phải lớn hơn hoặc bằng {n}"},
    "lt": {"en": "must be less than {n}", "vi": "phải nhỏ hơn {n}"},
    "gt": {"en": "must be greater than {n}", "vi": "phải lớn hơn {n}"},
    # the model, the test set, images
    "no_model": {
        "en": "No model is loaded yet. Start the server with a run folder: softmaxreg serve RUN_DIR.",
        "vi": "Chưa nạp mô hình nào. Hãy khởi động máy chủ với một thư mục lần huấn luyện: softmaxreg serve RUN_DIR.",
    },
    "no_test_set": {
        "en": "The Fashion-MNIST test set is not available on the server: {problem}",
        "vi": "Máy chủ không có tập kiểm tra Fashion-MNIST: {problem}",
    },
    "no_file": {
        "en": "Expected at least one form field named `file` holding an image; got none.",
        "vi": "Cần ít nhất một trường `file` chứa ảnh; không có trường nào.",
    },
    "pixels_shape": {
        "en": "Expected `pixels` to hold {height} rows of {width} numbers; got {got}.",
        "vi": "`pixels` phải có {height} hàng, mỗi hàng {width} số; nhận được {got}.",
    },
    "pixels_range": {
        "en": "Expected every pixel in [0, 1] (0 black, 1 white); got {bad}.",
        "vi": "Mọi điểm ảnh phải trong [0, 1] (0 đen, 1 trắng); nhận được {bad}.",
    },
    "index": {
        "en": "`index` must be a test image index, 0..{last}; got {index}.",
        "vi": "`index` phải là chỉ số một ảnh kiểm tra, 0..{last}; nhận được {index}.",
    },
    "index_row": {
        "en": "`index` must be a test row index, 0..{last}; got {index}.",
        "vi": "`index` phải là chỉ số một hàng kiểm tra, 0..{last}; nhận được {index}.",
    },
    "class_index": {
        "en": "`{name}` must be a class index, 0..{last}; got {value}.",
        "vi": "`{name}` phải là chỉ số một lớp, 0..{last}; nhận được {value}.",
    },
    "row_not_image": {
        "en": "Test row {index} is a row of features, not an image: GET /api/testset/images/{index}.",
        "vi": "Hàng kiểm tra {index} là một hàng đặc trưng, không phải ảnh: GET /api/testset/images/{index}.",
    },
    "not_image": {
        "en": "Expected a PNG or JPEG image in {name}; Pillow does not recognise the file.",
        "vi": "Cần một ảnh PNG hoặc JPEG trong {name}; Pillow không nhận ra tệp này.",
    },
    "empty_image": {
        "en": "Expected an image in {name}; got an empty file (0 bytes).",
        "vi": "Cần một ảnh trong {name}; nhận được một tệp rỗng (0 byte).",
    },
    "damaged_image": {
        "en": "Expected a complete image in {name}; got a truncated or damaged file (Pillow: {problem}).",
        "vi": "Cần một ảnh nguyên vẹn trong {name}; nhận được một tệp bị cắt cụt hoặc hỏng (Pillow: {problem}).",
    },
    "save_again": {"en": "Save or download it again.", "vi": "Hãy lưu hoặc tải nó lại."},
    "no_mistake": {
        "en": "The model makes no mistake on the test set; there is none to show.",
        "vi": "Mô hình không sai ảnh nào của tập kiểm tra; không có lỗi để xem.",
    },
    # settings (softmaxreg._validate's template), from the Train panel
    "must_be": {"en": "`{name}` must be {expected}; got {got}.", "vi": "`{name}` phải là {expected}; nhận được {got}."},
    "positive_int": {"en": "a positive integer", "vi": "một số nguyên dương"},
    "positive_number": {"en": "a positive number", "vi": "một số dương"},
    "nonnegative_int": {"en": "a non-negative integer", "vi": "một số nguyên không âm"},
    "nonnegative_number": {"en": "a non-negative number", "vi": "một số không âm"},
    "one_of": {"en": "one of {choices}", "vi": "một trong {choices}"},
    # training from the page
    "training_off": {
        "en": "Training from the page is off on this server; "
        "start it with: softmaxreg serve --allow-training [RUN_DIR].",
        "vi": "Máy chủ này không cho huấn luyện từ trang; "
        "hãy khởi động nó bằng: softmaxreg serve --allow-training [RUN_DIR].",
    },
    "epochs_range": {
        "en": "`epochs` must be a whole number from 1 to {max} on the page; got {got}. "
        "Train longer runs with softmaxreg train.",
        "vi": "`epochs` phải là số nguyên từ 1 đến {max} trên trang; nhận được {got}. "
        "Huấn luyện lâu hơn bằng softmaxreg train.",
    },
    "busy_start": {
        "en": "Cannot start another run: {run} is training{where}, and one run trains at a time. "
        "Stop it first, or wait for it to end.",
        "vi": "Không thể bắt đầu lần khác: {run} đang huấn luyện{where}, và mỗi lúc chỉ một lần huấn luyện. "
        "Hãy dừng nó trước, hoặc chờ nó kết thúc.",
    },
    "busy_where": {"en": ", epoch {epoch} of {epochs}", "vi": ", epoch {epoch}/{epochs}"},
    "nothing_to_stop": {
        "en": "No run is training, so there is nothing to stop.",
        "vi": "Không có lần huấn luyện nào đang chạy, nên không có gì để dừng.",
    },
    "trained": {"en": "Trained {epochs} epochs into {run}.", "vi": "Đã huấn luyện {epochs} epoch vào {run}."},
    "trained_one": {"en": "Trained 1 epoch into {run}.", "vi": "Đã huấn luyện 1 epoch vào {run}."},
    "served_now": {"en": "The page now predicts with its model.", "vi": "Trang giờ dự đoán bằng mô hình của nó."},
    "interrupted_first": {
        "en": "Interrupted before the first epoch ended; {run} has nothing to resume.",
        "vi": "Đã dừng trước khi epoch đầu tiên xong; {run} không có gì để tiếp tục.",
    },
    "interrupted": {
        "en": "Interrupted during epoch {epoch}; {run} keeps epochs 1-{done} (metrics and checkpoints).",
        "vi": "Đã dừng trong epoch {epoch}; {run} giữ các epoch 1-{done} (số liệu và checkpoint).",
    },
    "resume_with": {
        "en": "Resume with: softmaxreg train --resume {run}",
        "vi": "Tiếp tục bằng: softmaxreg train --resume {run}",
    },
    "stopped_early": {"en": "stopped before the run started.", "vi": "đã dừng trước khi lần huấn luyện bắt đầu."},
    "worker_died": {
        "en": "The training process ended unexpectedly (exit code {code}).",
        "vi": "Tiến trình huấn luyện kết thúc bất thường (mã thoát {code}).",
    },
    "keeps_epochs": {"en": "{run} keeps its completed epochs.", "vi": "{run} giữ các epoch đã xong."},
}


def pick(query: str | None, accept_language: str | None) -> str:
    """The language a request asks for: ``lang`` in its query, else its ``Accept-Language``, else English.

    Examples:
        >>> pick(None, "vi-VN,vi;q=0.9,en;q=0.8"), pick("en", "vi"), pick(None, "fr, en;q=0.5"), pick("xx", None)
        ('vi', 'en', 'en', 'en')
    """
    if query in LANGS:
        return query
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        weight = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            ranked.append((float(weight), tag.split("-")[0].strip().lower()))
        except ValueError:
            continue
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag in LANGS:
            return tag
    return DEFAULT


@functools.cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Each message id with its English template as a regular expression; longest first (the most specific)."""
    patterns = []
    for key, texts in MESSAGES.items():
        parts = re.split(r"\{(\w+)\}", texts["en"])
        # a value never runs over the end of a sentence: "Trained 3 epochs into X. The page now..." is two messages
        value = r"(?:(?!\.\s+[A-Z]).)+?"
        seen: set[str] = set()
        regex = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                regex += re.escape(part)
            else:  # a name used twice ("Test row {index} ... images/{index}") matches the same text twice
                regex += f"(?P={part})" if part in seen else f"(?P<{part}>{value})"
                seen.add(part)
        patterns.append((key, re.compile(regex + r"\Z", re.DOTALL)))
    return sorted(patterns, key=lambda item: -len(MESSAGES[item[0]]["en"]))


def render(key: str, lang: str, values: Mapping[str, object] | None = None) -> str:
    """The message ``key`` in ``lang``, filled with ``values``."""
    template = MESSAGES[key].get(lang) or MESSAGES[key]["en"]
    return template.format(**{name: str(value) for name, value in (values or {}).items()})


def localize(text: str, lang: str) -> str:
    """``text``, an English message of this table (or several, one sentence after another), in ``lang``.

    Examples:
        >>> localize("`top_k` must be less than or equal to 10; got 11. See /docs for the API.", "vi")
        '`top_k` phải nhỏ hơn hoặc bằng 10; nhận được 11. Xem /docs để biết API.'
        >>> localize("Something new.", "vi")
        'Something new.'
    """
    if lang == "en" or not text:
        return text
    whole = _localize_one(text, lang)
    if whole is not None:
        return whole
    sentences = re.split(r"(?<=[.)])\s+(?=[A-Z`])", text)
    if len(sentences) == 1:
        return text
    return " ".join(_localize_one(sentence, lang) or sentence for sentence in sentences)


def _localize_one(text: str, lang: str) -> str | None:
    for key, pattern in _patterns():
        match = pattern.match(text)
        if match:
            values = {name: _localize_one(value, lang) or value for name, value in match.groupdict().items()}
            return render(key, lang, values)
    return None
