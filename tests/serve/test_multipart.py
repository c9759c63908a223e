"""Reading multipart/form-data bodies (softmaxreg.serve.multipart), checked against Starlette's parser."""

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartParser

from softmaxreg.serve.multipart import MultipartError, Part, TooManyPartsError, boundary, read_parts

NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
CONTENT = st.binary(max_size=300) | st.sampled_from([b"", b"\r\n", b"--", b"\r\n--", b"\r\n--x", b"\r\n\r\n"])


def encode(files, fields):
    """The body and Content-Type httpx (the client of most Python programs) sends for these parts."""
    request = httpx.Request("POST", "http://x/api/predict", files=files, data=fields)
    return request.read(), request.headers["content-type"]


def starlette_parts(body, content_type):
    async def parse():
        async def stream():
            yield body

        form = await MultiPartParser(Headers({"content-type": content_type}), stream()).parse()
        return [
            Part(name, value.filename, await value.read()) if isinstance(value, UploadFile)
            else Part(name, None, value.encode())
            for name, value in form.multi_items()
        ]  # fmt: skip

    return asyncio.run(parse())


@settings(max_examples=150, deadline=None)
@given(files=st.lists(st.tuples(st.sampled_from(["file", "other"]), NAMES, CONTENT), min_size=1, max_size=5),
       fields=st.dictionaries(st.sampled_from(["note", "file"]), st.text(max_size=20), max_size=2))  # fmt: skip
def test_every_body_a_client_sends_reads_as_starlettes_parser_reads_it(files, fields):
    body, content_type = encode([(field, (name, data)) for field, name, data in files], fields)
    assert read_parts(body, boundary(content_type)) == starlette_parts(body, content_type)


def test_a_preamble_and_an_epilogue_are_ignored():
    body = (
        b'ignored\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nPNG\r\n'
        b"--b--\r\nignored too"
    )
    assert read_parts(body, b"b") == [Part("file", "a.png", b"PNG")]


@pytest.mark.parametrize("content_type, message", [
    ("multipart/form-data", "boundary of 1 to 70 ASCII characters; got ''"),
    ("multipart/form-data; boundary=" + "x" * 71, "boundary of 1 to 70"),
    ('multipart/form-data; boundary=""', "got ''"),
])  # fmt: skip
def test_a_content_type_without_a_usable_boundary_is_refused(content_type, message):
    with pytest.raises(MultipartError, match=message):
        boundary(content_type)


PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nPNG'


@pytest.mark.parametrize("body, message", [
    (b"no boundary here", "no line '--b' starts a part"),
    (b"", "no line '--b' starts a part"),
    (PART, "part 1 never ends: the body is cut short"),
    (PART + b"\r\n--b", "the body ends after it"),
    (b'--b\r\nContent-Disposition: form-data; name="file"', "part 1's headers never end"),
    (b"--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--",
     'part 1 has no header "Content-Disposition: form-data; name=..."'),
    (b'--b\r\nContent-Disposition: attachment; name="file"\r\n\r\nPNG\r\n--b--', "part 1 has no header"),
    # LF alone is not a line end
    (b"--b\nContent-Disposition: form-data; name=file\n\nPNG\n--b--", "followed by other text"),
    (PART + b"\r\n--b\r\n" + PART[5:] + b"\r\n--b--", None),  # two parts: fine
])  # fmt: skip
def test_a_damaged_body_is_refused_with_what_is_wrong(body, message):
    if message is None:
        assert [p.filename for p in read_parts(body, b"b")] == ["a.png", "a.png"]
        return
    with pytest.raises(MultipartError, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_parts(body, b"b")


def test_at_most_max_parts():
    body, content_type = encode([("file", (f"{i}.png", b"x")) for i in range(5)], {})
    assert len(read_parts(body, boundary(content_type), max_parts=5)) == 5
    with pytest.raises(TooManyPartsError, match="more than 4 parts"):
        read_parts(body, boundary(content_type), max_parts=4)
