"""``python -m latte_serving serve --model-repository DIR ...``."""

from latte_serving.cli import console_main

if __name__ == "__main__":
    console_main()
