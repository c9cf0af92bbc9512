import sys
from pathlib import Path

# release_repo.py (the repository builder) lives beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
