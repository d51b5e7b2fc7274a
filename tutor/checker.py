"""Who judges the code found in a tutor reply: ``SolutionGuard.checker_class``.

The guard never runs code itself. A :class:`SolutionChecker` answers, for each
candidate program, whether the judge accepts it for the problem:

* :class:`JudgeServiceChecker` (the default, embedded and in production): an
  internal guard job on the judge service's workers, over HTTP with the tutor's
  Hub token (:meth:`codetutor.tutor.problems.JudgeClient.guard`); embedded, the
  judge service listens on loopback;
* :class:`codetutor.judge.local.LocalChecker`: the judge in this process, for the
  ``codetutor tutor check-reply`` CLI and tests (it starts sandboxes here).
"""

from __future__ import annotations

from typing import Any

from traitlets import Instance, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor.problems import JudgeClient, TutorProblem


class SolutionChecker(LoggingConfigurable):
    """Base of the checkers: :meth:`accepted` judges candidate programs."""

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        """Coroutine: for each of ``programs``, whether it is accepted for ``problem``.

        Raises any exception when the programs could not be judged (the guard then
        withholds the reply, failing closed).
        """
        raise NotImplementedError

    async def close(self) -> None:
        """Coroutine: release what the checker holds."""


class JudgeServiceChecker(SolutionChecker):
    """Guard jobs on the judge service's workers (see the module docstring)."""

    client = Instance(JudgeClient)

    @default("client")
    def _default_client(self) -> JudgeClient:
        return JudgeClient(parent=self)

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        return await self.client.guard(problem, programs)

    async def close(self) -> None:
        await self.client.close()


__all__: list[Any] = ["JudgeServiceChecker", "SolutionChecker"]
