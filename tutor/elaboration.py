"""What the model is asked, if anything: the tutor's request that elaborates on a
grounded plan (:func:`model_request`), and whether the model can chat at all
(:func:`probe_mode`). The model only phrases; the plan (:mod:`.ladder`) is the answer."""

from __future__ import annotations

import logging
from typing import Any

from codetutor.tutor import ladder, prompts
from codetutor.tutor.engine import GenerationRequest
from codetutor.tutor.exceptions import TutorError
from codetutor.tutor.problems import TutorProblem
from codetutor.tutor.scheduler import Scheduler


def instructor_note(problem: TutorProblem, lang: str) -> str:
    """The instructor's context and words to avoid, for the prompt (never shown to a student)."""
    parts = []
    if problem.context_for(lang):
        parts.append(f"Instructor's note for the tutor: {problem.context_for(lang)}")
    if problem.avoid:
        parts.append("Never use these words: " + ", ".join(problem.avoid))
    return "\n\n" + "\n".join(parts) if parts else ""


def model_request(
    *,
    user: str,
    problem: TutorProblem,
    code: str,
    verdict: dict[str, Any] | None,
    language: str,
    plan: ladder.Plan,
    mode: str,
    history: list[dict[str, str]],
    message: str,
    max_tokens: int,
    completion_max_tokens: int,
    temperature: float,
    seed: int,
) -> GenerationRequest | None:
    """The generation that elaborates on ``plan``, or None when no model text is wanted."""
    if mode == "off":
        return None
    if mode == "completion":
        # A base model continues a few-shot note about the one fact it is given.
        if not plan.fact_lines or not plan.facts.failed:
            return None
        return GenerationRequest(
            user=user,
            prompt=prompts.few_shot_prompt(plan.fact_lines[0], language),
            max_tokens=min(max_tokens, completion_max_tokens),
            temperature=temperature,
            seed=seed,
            stop=list(prompts.FEW_SHOT_STOP),
        )
    context = prompts.TutorContext(
        statement=problem.statement + instructor_note(problem, language),
        title=problem.title_for(language),
        code=code,
        verdict=prompts.student_verdict(verdict),
        lang=language,
        level=plan.model_level,
        line=plan.line,
    )
    return GenerationRequest(
        user=user,
        messages=prompts.elaboration_messages(context, history, message, plan.text),
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
    )


async def probe_mode(
    scheduler: Scheduler,
    *,
    user: str,
    base_model_mode: str,
    seed: int,
    deadline_s: float,
    log: logging.Logger | logging.LoggerAdapter[Any],
) -> str:
    """Coroutine: ``chat`` for a model that can chat, else ``base_model_mode``; "" when
    the probe failed (decide again later).

    An engine that reports whether its model has a chat template is believed; one
    that cannot say gets a probe: a chat reply that echoes the prompt (or is empty)
    means the model cannot chat.
    """
    capable = getattr(scheduler.engine, "chat_capable", None)
    if capable is not None:
        return "chat" if capable else base_model_mode
    probe_rules = prompts.instruction_texts("en")[0]
    request = GenerationRequest(
        user=user,
        messages=[
            {"role": "system", "content": probe_rules},
            {"role": "user", "content": "In one sentence: what is a variable?"},
        ],
        max_tokens=32,
        temperature=0.0,
        seed=seed,
    )
    try:
        job = scheduler.submit(request, deadline_s=deadline_s)
        text = "".join([chunk.text async for chunk in job.stream()])
    except TutorError as e:
        log.warning("tutor: the model probe failed: %s", e)
        return ""
    capable = getattr(scheduler.engine, "chat_capable", None)
    echoed = prompts.echoes_prompt(text, [probe_rules], "", n=4)
    mode = base_model_mode if capable is False or echoed or not text.strip() else "chat"
    log.info("tutor: the model is used in %s mode", mode)
    return mode
