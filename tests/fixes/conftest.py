import sys
from pathlib import Path

# The case table lives next to the fixtures it describes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "rewrite"))
