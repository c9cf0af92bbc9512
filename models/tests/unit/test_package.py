import re

import latte_models


def test_version_comes_from_the_installed_distribution():
    assert re.fullmatch(r"\d+\.\d+\.\d+", latte_models.__version__)
