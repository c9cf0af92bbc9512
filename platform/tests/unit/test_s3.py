import pytest

from latte.config import load_settings
from latte.errors import ConfigError
from latte.s3 import S3Location, is_s3_url, make_client


def test_parse_bucket_and_prefix():
    location = S3Location.parse("s3://latte-cache/tasks/v1/")
    assert (location.bucket, location.prefix) == ("latte-cache", "tasks/v1")
    assert location.key("ab", "cd") == "tasks/v1/ab/cd"
    assert str(location) == "s3://latte-cache/tasks/v1"
    assert str(S3Location.parse("s3://bucket")) == "s3://bucket"
    assert S3Location.parse("s3://bucket").key("x") == "x"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/local/folder", "not an S3 location"),
        ("s3://Bad_Bucket/x", "not a valid S3 bucket name"),
        ("s3://bucket/has space", "not safe for S3 and Triton"),
    ],
)
def test_parse_rejects_what_triton_would(url, message):
    with pytest.raises(ConfigError, match=message):
        S3Location.parse(url)


def test_client_needs_an_endpoint(tmp_path):
    assert is_s3_url("s3://b/p")
    assert not is_s3_url("b/p")
    with pytest.raises(ConfigError, match="LATTE_S3_ENDPOINT"):
        make_client(load_settings(root=tmp_path, environ={}))


def test_client_talks_to_a_real_s3_server(tmp_path, s3_settings_env):
    client = make_client(load_settings(root=tmp_path, environ=s3_settings_env))
    client.make_bucket("latte-test")
    assert client.bucket_exists("latte-test")
