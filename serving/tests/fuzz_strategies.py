"""Hypothesis strategies for malformed Open Inference Protocol requests (shared by tests).

Each strategy aims at one class of defect the gateway must answer with a 4xx: unicode
digits where integers go, integers past Python's 4,300-digit limit, NaN/Infinity, lying
lengths, and shapes far larger than the data.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

# characters str.isdigit() or int() accept that are not ASCII digits, plus signs and spaces
UNICODE_DIGITS = "²³¹①٣۴߅५০੧૨୩௪౫೬൭๘໙༢၃႔០᠑᥆᧐᪁᭒᮳᱄᱕꘠꣐꤁꧑꩒꯰０１"
INTEGERISH = st.one_of(
    st.text(alphabet=UNICODE_DIGITS + "0123456789+- _\t", min_size=1, max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=4300, max_value=6000).map(lambda n: "9" * n),
)


def huge_int_literal(draw: st.DrawFn) -> str:
    return "1" * draw(st.integers(min_value=21, max_value=9000))


@st.composite
def json_number_text(draw: st.DrawFn) -> str:
    """A JSON number (or a non-JSON constant) as raw text."""
    return draw(
        st.one_of(
            st.builds(lambda n: "1" * n, st.integers(min_value=21, max_value=9000)),
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0", "1.5"]),
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
        )
    )


@st.composite
def infer_header(draw: st.DrawFn, name: str = "INPUT__0", width: int = 4) -> tuple[str, int]:
    """The JSON header of a request (as text, numbers spliced in raw) and its binary size."""
    batch = draw(st.one_of(st.just("1"), json_number_text()))
    dim = draw(st.one_of(st.just(str(width)), json_number_text(),
                         st.integers(2**31 - 2, 2**40).map(str)))  # fmt: skip
    size = draw(st.one_of(st.none(), st.just(str(4 * width)), json_number_text()))
    datatype = draw(st.sampled_from(["FP32", "FP32", "INT32", "BYTES", "fp32", ""]))
    data = draw(
        st.one_of(
            st.none(),
            st.lists(st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3)),
                     max_size=6).map(json.dumps),
            st.lists(json_number_text(), min_size=1, max_size=4).map(lambda x: f"[{','.join(x)}]"),
        )
    )  # fmt: skip
    parameters = "{}" if size is None else f'{{"binary_data_size": {size}}}'
    fields = [f'"name": "{name}"', f'"datatype": "{datatype}"', f'"shape": [{batch}, {dim}]',
              f'"parameters": {parameters}']  # fmt: skip
    if data is not None:
        fields.append(f'"data": {data}')
    request_id = draw(st.one_of(st.none(), st.text(max_size=20), st.just("x" * 5000)))
    head = f'{{"inputs": [{{{", ".join(fields)}}}]'
    if request_id is not None:
        head += f', "id": {json.dumps(request_id)}'
    return head + "}", 4 * width if size is not None else 0


@st.composite
def infer_request(draw: st.DrawFn, name: str = "INPUT__0", width: int = 4):
    """(body bytes, headers): JSON or binary, with honest or lying lengths."""
    header, size = draw(infer_header(name, width))
    text = header.encode()
    payload = draw(st.one_of(st.just(b"\x00" * size), st.binary(max_size=64)))
    binary = draw(st.booleans())
    if not binary:
        return text, {}
    declared = draw(st.one_of(st.just(str(len(text))), INTEGERISH))
    return text + payload, {"Inference-Header-Content-Length": header_value(declared)}


def header_value(text: str) -> bytes:
    """As an HTTP client can send it: no surrounding whitespace, not empty."""
    return (text.strip(" \t") or "x").encode("utf-8")
