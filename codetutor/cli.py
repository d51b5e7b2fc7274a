"""The ``codetutor`` command line.

Every subcommand is a traitlets :class:`~traitlets.config.Application` registered
in :attr:`CodeTutorApp.subcommands`. Bad input never produces a traceback: it
raises :class:`UsageError`, which :func:`main` turns into one line on stderr and
exit status 2.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from traitlets import Bool, TraitError, Unicode
from traitlets.config import Application

from codetutor import __version__
from codetutor.errors import SandboxError


class UsageError(Exception):
    """Bad input from the user of a command: exit status 2, one line on stderr."""


class CodeTutorBaseApp(Application):
    """Base for every ``codetutor`` (sub)command.

    Overrides :meth:`initialize` so that configuration and argument errors
    become :class:`UsageError` instead of traitlets' help-and-exit-1.
    """

    version = __version__

    debug = Bool(False, help="Show debug logging.").tag(config=True)

    flags: Any = {
        "debug": ({"CodeTutorBaseApp": {"debug": True}}, "Show debug logging."),
    }

    def check_options(self, argv: list[str]) -> None:
        """Refuse options this command does not know (traitlets would only warn)."""
        known = {"help", "help-all", "version", *self.flags, *self.aliases}
        for arg in argv:
            if arg == "--":
                break
            if arg in self.subcommands:
                return
            if arg.startswith("-") and arg != "-":
                name = arg.lstrip("-").split("=", 1)[0]
                if name not in known and "." not in name and name != "h":
                    raise UsageError(
                        f"unknown option {arg.split('=', 1)[0]} for 'codetutor {self.name}'"
                    )

    def initialize(self, argv: list[str] | None = None) -> None:
        self.check_options(list(sys.argv[1:] if argv is None else argv))
        # traitlets' own wrapper would log a bad value (--port=x) and exit 1; we want exit 2
        parse = getattr(Application.parse_command_line, "__wrapped__", None)
        try:
            if parse is not None and not self.subcommands:
                parse(self, argv)
            else:
                self.parse_command_line(argv)
        except SystemExit:
            raise
        except Exception as e:
            raise UsageError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
        if self.debug:
            self.log_level = 10  # logging.DEBUG

    def positional(self, count: int, names: str) -> list[str]:
        """Return exactly ``count`` positional arguments or raise :class:`UsageError`."""
        args = list(self.extra_args)
        if len(args) != count:
            raise UsageError(f"usage: codetutor {self.name} {names}")
        return args


class CodeTutorApp(CodeTutorBaseApp):
    """The ``codetutor`` command: dispatches to its subcommands."""

    name = "codetutor"
    description = "Code Tutor: Jupyter-centric programming practice for classes."

    subcommands: Any = {
        "publish": (
            "codetutor.judge.app.PublishApp",
            "Validate a problem notebook and write the student notebook and judge bundle.",
        ),
        "judge": (
            "codetutor.judge.app.JudgeApp",
            "Judge a submission against a problem and print the verdict.",
        ),
        "judge-service": (
            "codetutor.judge.service.JudgeServiceApp",
            "Run the judge service (JupyterHub service: API, queue, workers).",
        ),
        "judge-worker": (
            "codetutor.judge.worker.JudgeWorkerApp",
            "Run one judge worker process on the judge service's queue.",
        ),
        "llm": (
            "codetutor.tutor.app.LLMApp",
            "The shared LLM service (llm serve: OpenAI-compatible API over a GGUF model).",
        ),
        "tutor": (
            "codetutor.tutor.app.TutorApp",
            "The AI tutor (tutor serve: chat/hint/review API; tutor check-reply: the guard).",
        ),
        "course": (
            "codetutor.judge.coursefiles.CourseApp",
            "Carry a course to the next term: course export COURSE --out DIR, course import DIR.",
        ),
        "dashboard": (
            "codetutor.insight.app.DashboardApp",
            "Run the instructors' class dashboard (JupyterHub service).",
        ),
        "similarity": (
            "codetutor.insight.similarity_app.SimilarityApp",
            "Compare the class's submissions per problem and print the similarity report.",
        ),
        "up": (
            "codetutor.hub.app.UpApp",
            "Run Code Tutor on this machine: JupyterHub, judge, tutor, sandboxed user servers.",
        ),
    }

    #: subcommands that run student code: they refuse to start where sandboxes cannot be confined
    confining_subcommands: ClassVar[tuple[str, ...]] = ("judge", "judge-service", "judge-worker")
    subcommand = Unicode("")

    def start(self) -> None:
        """Run the subcommand; raises SandboxError (exit 2) where a judge cannot confine."""
        if self.subapp is None:
            names = ", ".join(sorted(self.subcommands))
            raise UsageError(f"missing subcommand; choose one of: {names}")
        # a judge service without workers (production: they run apart) starts no sandbox
        workers = getattr(self.subapp, "workers", None)
        if self.subcommand in self.confining_subcommands and workers != 0:
            from codetutor.judge.sandbox import check_confinement

            check_confinement(self.subapp)
        self.subapp.start()

    def initialize(self, argv: list[str] | None = None) -> None:
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv and not argv[0].startswith("-") and argv[0] not in self.subcommands:
            raise UsageError(
                f"unknown subcommand {argv[0]!r}; choose one of: {', '.join(sorted(self.subcommands))}"
            )
        self.subcommand = argv[0] if argv and not argv[0].startswith("-") else ""
        super().initialize(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``codetutor`` console script."""
    app = CodeTutorApp.instance()
    try:
        app.initialize(argv)
        app.start()
    except UsageError as e:
        print(f"codetutor: {e}", file=sys.stderr)
        sys.exit(2)
    except TraitError as e:
        # A setting with a bad value (e.g. --port=x) found after parsing: bad input too.
        print(f"codetutor: {str(e).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    except SandboxError as e:
        # A judge that cannot confine its sandboxes does not start: one line, what to do.
        print(f"codetutor: {e.message}: {e.log_message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
