"""Rewrite the import lines of moved modules in the notebooks' cell sources (outputs untouched).

Used once for the move of issue 7; kept so a branch that still has old imports can be fixed the
same way: ``python tools/rewrite_notebook_imports.py notebooks/0*.ipynb``.
"""

import json
import re
import sys
from pathlib import Path

# (pattern on a whole import line, replacement); modules are aliased to their old names so the
# rest of the cell reads unchanged.
LINE_RULES = [
    (r"^from unet_course import masks as (\w+)$", r"from unet_course.data import masks as \1"),
    (r"^from unet_course import masks$", r"from unet_course.data import masks"),
    (r"^from unet_course import upsampling, viz$", "from unet_course import viz\nfrom unet_course.analysis import transposed_conv as upsampling"),
    (r"^from unet_course import upsampling$", "from unet_course.analysis import transposed_conv as upsampling"),
    (r"^from unet_course import profiling$", "from unet_course.analysis import profiling"),
    (r"^from unet_course\.models\.diagram import draw_unet, parameters_per_level, plot_parameters_per_level$",
     "from unet_course.analysis.levels import parameters_per_level\nfrom unet_course.viz import draw_unet, plot_parameters_per_level"),
]
# module paths in code and prose
TEXT_RULES = [
    (r"unet_course\.models\.receptive_field\b", "unet_course.analysis.receptive_field"),
    (r"unet_course\.masks\b", "unet_course.data.masks"),
    (r"unet_course\.upsampling\b", "unet_course.analysis.transposed_conv"),
    (r"unet_course\.profiling\b", "unet_course.analysis.profiling"),
    (r"`draw_unet` \(in `unet_course\.models\.diagram`\)", "`draw_unet` (in `unet_course.viz.diagram`)"),
    (r"unet_course\.models\.diagram\b", "unet_course.viz.diagram"),
    (r"unet_course\.notebooks\b", "unet_course.course.notebooks"),
    (r"unet_course\.grading\b", "unet_course.course.grading"),
]


def rewrite(source: str) -> str:
    lines = []
    for line in source.split("\n"):
        for pattern, replacement in LINE_RULES:
            line = re.sub(pattern, replacement, line)
        lines.append(line)
    text = "\n".join(lines)
    for pattern, replacement in TEXT_RULES:
        text = re.sub(pattern, replacement, text)
    return text


def main(paths):
    for path in map(Path, paths):
        raw = path.read_text(encoding="utf-8")
        notebook = json.loads(raw)
        changed = 0
        for cell in notebook["cells"]:
            source = cell["source"]
            text = "".join(source) if isinstance(source, list) else source
            new = rewrite(text)
            if new != text:
                changed += 1
                cell["source"] = new.splitlines(keepends=True) if isinstance(source, list) else new
        if changed:
            indent = 1 if raw.startswith("{\n \"") else 2
            path.write_text(json.dumps(notebook, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path}: {changed} cell(s) rewritten")


if __name__ == "__main__":
    main(sys.argv[1:])
