import sys
from pathlib import Path

# the release and promotion repository builders, and latte up's tiny real models
_HERE = Path(__file__).parent
for folder in ("release", "promote", "up"):
    sys.path.insert(0, str(_HERE.parent / folder))
