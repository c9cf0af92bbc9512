import re

import latte_serving


def test_version_comes_from_the_installed_distribution():
    assert re.fullmatch(r"\d+\.\d+\.\d+", latte_serving.__version__)


def test_public_api_loads_lazily():
    import subprocess
    import sys

    code = (
        "import sys, latte_serving\n"
        "assert 'fastapi' not in sys.modules and 'onnxruntime' not in sys.modules\n"
        "assert latte_serving.create_app.__name__ == 'create_app'\n"
        "assert latte_serving.shim_repository.__module__ == 'latte_serving.triton.shim'\n"
        "try:\n    latte_serving.nope\nexcept AttributeError:\n    print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    assert sorted(latte_serving.__all__) == sorted(
        ["GatewaySettings", "TritonProcess", "__version__", "create_app", "find_tritonserver",
         "hash_api_key", "shim_repository"]
    )  # fmt: skip
