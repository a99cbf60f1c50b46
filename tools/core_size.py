"""Print the size of hubel's core (tensor + autograd + ops), which is kept small on purpose.

    python tools/core_size.py

Lines are counted per file: all lines, and code lines (not blank, not comments, not
docstrings).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "hubel"
CORE = [ROOT / "tensor.py", *sorted((ROOT / "autograd").glob("*.py")),
        *sorted((ROOT / "ops").glob("*.py"))]


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not inside a docstring."""
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            doc_lines.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - doc_lines)


def main() -> None:
    total = code = 0
    print(f"{'file':34} {'lines':>6} {'code':>6}")
    for path in CORE:
        source = path.read_text()
        n, c = len(source.splitlines()), code_lines(source)
        total, code = total + n, code + c
        print(f"{str(path.relative_to(ROOT.parent)):34} {n:6d} {c:6d}")
    print(f"{'core (tensor + autograd + ops)':34} {total:6d} {code:6d}")


if __name__ == "__main__":
    main()
