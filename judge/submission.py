"""Student submissions: a notebook or a ``.py`` file, reduced to code cells."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .exceptions import SubmissionError
from .problem import TEST_TAGS

#: Largest submission accepted, in bytes of code.
MAX_CODE_BYTES = 1 << 20


@dataclass(frozen=True)
class Submission:
    """The student's code: the sources of the cells the judge runs, in order.

    Cells tagged as tests are never run: the judge uses the server's copy of
    the tests, not the student's.
    """

    cells: tuple[str, ...]

    @property
    def source(self) -> str:
        return "\n\n".join(self.cells)

    @classmethod
    def from_source(cls, code: str) -> Submission:
        if not isinstance(code, str):
            raise SubmissionError("a submission's code must be text")
        if len(code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
            raise SubmissionError(
                f"the submission is larger than {MAX_CODE_BYTES // 1024} KiB of code"
            )
        return cls(cells=(code,))

    @classmethod
    def from_notebook(cls, nb: NotebookNode | dict[str, Any]) -> Submission:
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise SubmissionError("the submission is not a Jupyter notebook")
        cells = []
        for cell in nb["cells"]:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            tags = (
                cell.get("metadata", {}).get("tags", [])
                if isinstance(cell.get("metadata"), dict)
                else []
            )
            if isinstance(tags, list) and any(isinstance(t, str) and t in TEST_TAGS for t in tags):
                continue
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(str(s) for s in source)
            if not isinstance(source, str):
                raise SubmissionError("a code cell's source is not text")
            if source.strip():
                cells.append(source)
        total = sum(len(c.encode("utf-8", "surrogatepass")) for c in cells)
        if total > MAX_CODE_BYTES:
            raise SubmissionError(
                f"the submission is larger than {MAX_CODE_BYTES // 1024} KiB of code"
            )
        return cls(cells=tuple(cells))

    def to_stored(self) -> str:
        """The parsed form kept with a stored submission: a notebook of only the cells run.

        Reading it back (:meth:`from_stored`, or :meth:`from_notebook`) gives this
        submission again without the student's notebook being parsed a second time.
        """
        cells: list[dict[str, Any]] = [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": c,
            }
            for c in self.cells
        ]
        return json.dumps(
            {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4},
            ensure_ascii=False,
        )

    @classmethod
    def from_stored(cls, code: str, stored: str | None) -> Submission:
        """The submission stored as ``code`` and :meth:`to_stored`'s ``stored`` (None: code only)."""
        if stored is None:
            return cls.from_source(code)
        return cls(cells=tuple(str(cell["source"]) for cell in json.loads(stored)["cells"]))

    @classmethod
    def from_bytes(cls, data: bytes, filename: str) -> Submission:
        """Read an uploaded ``.ipynb`` or ``.py``; raise :class:`SubmissionError` on bad input."""
        if len(data) > 16 * MAX_CODE_BYTES:
            raise SubmissionError("the submission file is too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SubmissionError(f"{filename} is not UTF-8 text") from None
        if filename.endswith(".ipynb"):
            try:
                raw = json.loads(text)
            except ValueError as e:
                raise SubmissionError(f"{filename} is not a notebook (invalid JSON: {e})") from None
            if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
                raise SubmissionError(f"{filename} is not a notebook")
            return cls.from_notebook(nbformat.from_dict(raw))
        if filename.endswith(".py"):
            return cls.from_source(text)
        raise SubmissionError(f"{filename}: a submission is a .ipynb notebook or a .py file")

    @classmethod
    def from_path(cls, path: str | Path) -> Submission:
        path = Path(path)
        if path.suffix not in (".ipynb", ".py"):
            raise SubmissionError(f"{path}: a submission is a .ipynb notebook or a .py file")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SubmissionError(f"no such file: {path}") from None
        except OSError as e:
            raise SubmissionError(f"cannot read {path}: {e.strerror}") from None
        return cls.from_bytes(data, path.name)
