"""``codetutor similarity``: compare the class's submissions once and print the report.

    codetutor similarity [--db-url=URL] [--archive=DIR] [--csv] [--threshold=0.75] [--pick=best|last]

Reads the judge's database (read only: the report is printed, not stored) and, when
``CODETUTOR_TRANSCRIPTS_URL`` or ``Transcripts.url`` is set, the tutor's transcripts;
prints the report as one JSON
object (``similarity.json`` of the dashboard) or as CSV (``--csv``). An archive of
earlier terms is a folder ``DIR/PROBLEM/**/*.py``. Exit 0 with a report, 2 with one
line on stderr for bad input (an archive that is not a readable folder, a bad
setting), 1 when the database cannot be read.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from traitlets import Bool, Unicode

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.errors import CodeTutorError
from codetutor.judge.store import Store
from codetutor.judge.verdict import dumps
from codetutor.tutor.transcripts import Transcripts

from .similarity_report import ClassReport, SimilarityChecker, read_archive


class SimilarityApp(CodeTutorBaseApp):
    """``codetutor similarity`` (module docstring)."""

    name = "similarity"
    description = (
        "Compare each student's best (or last) submission per problem and print the report."
    )

    classes = [Store, SimilarityChecker, Transcripts]

    db_url = Unicode("", help="The judge's database URL (default: the judge's own).").tag(
        config=True
    )
    csv_output = Bool(False, help="Print CSV (one row per pair) instead of JSON.").tag(config=True)

    aliases: Any = {
        "db-url": "SimilarityApp.db_url",
        "archive": "SimilarityChecker.archive_dir",
        "threshold": "SimilarityChecker.threshold",
        "pick": "SimilarityChecker.pick",
    }
    flags: Any = {
        **CodeTutorBaseApp.flags,
        "csv": ({"SimilarityApp": {"csv_output": True}}, "Print CSV instead of JSON."),
    }

    def start(self) -> None:
        self.positional(0, "[--db-url=URL] [--archive=DIR] [--csv]")
        archive = self.config.get("SimilarityChecker", {}).get("archive_dir", "")
        if archive:
            try:
                read_archive(str(archive))
            except CodeTutorError as e:
                raise UsageError(e.message) from None
        try:
            report = asyncio.run(self._run())
        except (DBAPIError, OperationalError) as e:
            print(f"codetutor: the judge database cannot be read: {e.orig}", file=sys.stderr)
            sys.exit(1)
        except CodeTutorError as e:
            raise UsageError(e.message) from None
        sys.stdout.write(report.to_csv() if self.csv_output else dumps(report.to_json()) + "\n")

    async def _run(self) -> ClassReport:
        store = Store(parent=self, url=self.db_url) if self.db_url else Store(parent=self)
        transcripts = Transcripts(parent=self)
        await store.connect()
        try:
            checker = SimilarityChecker(parent=self, store=store, transcripts=transcripts)
            return await checker.run(save=False)
        finally:
            await transcripts.close()
            await store.close()
