"""``HEAD`` on the pages: what link checkers and uptime monitors send, answered as ``GET`` without a body."""

from __future__ import annotations

import urllib.request

import pytest

pytestmark = pytest.mark.real_data


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_head_on_a_page_answers_like_get_without_the_body(server, path):
    with urllib.request.urlopen(urllib.request.Request(server + path, method="HEAD"), timeout=30) as head:
        status, kind, body = head.status, head.headers["content-type"], head.read()
    with urllib.request.urlopen(server + path, timeout=30) as get:
        assert (status, kind) == (get.status, get.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert get.read() and body == b""
