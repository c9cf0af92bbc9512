import sys
from pathlib import Path

# Shared fixtures for real servers live beside this file.
sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["servers"]
