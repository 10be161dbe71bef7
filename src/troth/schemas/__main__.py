"""``python -m troth.schemas``: regenerate the shipped schema files from the models."""

from pathlib import Path

from troth.schemas import NAMES, text

here = Path(__file__).parent
for name in NAMES:
    (here / f"{name}.schema.json").write_text(text(name), "utf-8")
