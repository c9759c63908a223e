"""The server's messages in the page's languages: the table, and the API answering in the language asked for."""

from __future__ import annotations

import pytest

from softmaxreg.serve import messages

httpx = pytest.importorskip("httpx")


def test_every_message_has_both_languages_and_the_same_values():
    import re

    for key, texts in messages.MESSAGES.items():
        assert set(texts) == set(messages.LANGS), key
        names = {lang: sorted(re.findall(r"\{(\w+)\}", text)) for lang, text in texts.items()}
        assert names["vi"] == names["en"], key


@pytest.mark.parametrize(
    ("english", "vietnamese"),
    [
        ("`top_k` must be less than or equal to 10; got 11. See /docs for the API.",
         "`top_k` phải nhỏ hơn hoặc bằng 10; nhận được 11. Xem /docs để biết API."),
        ("`lr` must be a positive number; got -1.", "`lr` phải là một số dương; nhận được -1."),
        ("Interrupted during epoch 2; runs/a keeps epochs 1-1 (metrics and checkpoints). "
         "Resume with: softmaxreg train --resume runs/a",
         "Đã dừng trong epoch 2; runs/a giữ các epoch 1-1 (số liệu và checkpoint). "
         "Tiếp tục bằng: softmaxreg train --resume runs/a"),
        ("Trained 3 epochs into /tmp/r/runs/x. The page now predicts with its model.",
         "Đã huấn luyện 3 epoch vào /tmp/r/runs/x. Trang giờ dự đoán bằng mô hình của nó."),
        ("A message nobody wrote a template for.", "A message nobody wrote a template for."),
    ],
)  # fmt: skip
def test_localize_fills_the_other_template_with_the_same_values(english, vietnamese):
    assert messages.localize(english, "vi") == vietnamese
    assert messages.localize(english, "en") == english


@pytest.mark.real_data
def test_the_api_answers_in_the_language_asked_for_and_english_by_default(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        english = client.get("/api/testset/images/99999").json()["error"]
        assert english == "`index` must be a test image index, 0..9999; got 99999."
        by_query = client.get("/api/testset/images/99999?lang=vi").json()["error"]
        by_header = client.get("/api/testset/images/99999", headers={"accept-language": "vi-VN,vi;q=0.9"}).json()
        assert by_query == by_header["error"] == "`index` phải là chỉ số một ảnh kiểm tra, 0..9999; nhận được 99999."
        missing = client.get("/api/nothing", headers={"accept-language": "vi"})
        assert missing.status_code == 404 and missing.json()["error"].startswith("Không có trang hay endpoint")
        bad = client.get("/api/testset/random?mistake=maybe&lang=vi").json()["error"]
        assert bad.startswith("`mistake` phải là true hoặc false; nhận được 'maybe'.")
