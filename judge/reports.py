"""What comes out of a sandbox, validated: every report is reduced to bounded,
well-typed fields before the judge reads it (anything else counts as the
student's runtime error, never as the judge's failure)."""

from __future__ import annotations

from typing import Any

#: longest text (a traceback, say) kept from a sandbox's report
TEXT_LIMIT = 8000


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def error_fields(error: Any) -> dict[str, str]:
    """Error info from a sandbox, reduced to bounded strings."""
    if not isinstance(error, dict):
        return {"ename": "Error", "evalue": ""}
    return {
        "ename": text(error.get("ename"), 200) or "Error",
        "evalue": text(error.get("evalue"), 2000),
        "traceback": text(error.get("traceback")),
    }


def cell_report(reply: Any) -> dict[str, Any]:
    """The harness's report on one cell, validated (anything else is a runtime error)."""
    cells = reply.get("cells") if isinstance(reply, dict) else None
    if not isinstance(cells, list) or len(cells) != 1 or not isinstance(cells[0], dict):
        return {"status": "error", "error": {"ename": "RuntimeError", "evalue": "no report"}}
    status = cells[0].get("status")
    if status == "ok":
        return {"status": "ok"}
    if status not in ("error", "syntax", "memory", "output_limit"):
        status = "error"
    return {"status": status, "error": error_fields(cells[0].get("error"))}


def checker_report(report: Any) -> dict[str, Any]:
    """The checker's report on a case, reduced to what the judge reads."""
    if not isinstance(report, dict):
        return {"status": "error"}
    status = report.get("status")
    clean: dict[str, Any] = {
        "status": status
        if status in ("passed", "failed", "error", "memory", "output_limit")
        else "error"
    }
    for key in ("value", "other", "message"):
        if isinstance(report.get(key), str):
            clean[key] = report[key]
    if "error" in report:
        clean["error"] = error_fields(report["error"])
    return clean


def program_report(reply: Any, output_limit: int) -> dict[str, Any]:
    """The harness's report on one run of a stdio program, validated."""
    if not isinstance(reply, dict) or not isinstance(reply.get("output"), str):
        return {"status": "error", "error": {"ename": "RuntimeError", "evalue": "no report"}}
    output = reply["output"]
    if len(output.encode("utf-8", "replace")) > output_limit:
        return {"status": "output_limit", "error": {"ename": "", "evalue": "output limit exceeded"}}
    status = reply.get("status")
    report: dict[str, Any] = {
        "status": status
        if status in ("ok", "error", "syntax", "memory", "output_limit")
        else "error",
        "output": output,
    }
    if report["status"] != "ok":
        report["error"] = error_fields(reply.get("error"))
    return report
