"""deploy/RUNBOOK.md: the original's checklists, and every link into it resolves."""

from __future__ import annotations

import re

import yaml

from .conftest import DEPLOY, MONITORING, ROOT

RUNBOOK = DEPLOY / "RUNBOOK.md"


def anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_checklists_of_the_original() -> None:
    text = RUNBOOK.read_text()
    for section in ("Before a deploy", "After a deploy", "Weekly", "Monthly", "Quarterly"):
        assert f"## {section}" in text, section
        body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
        assert "- [ ]" in body, section


def test_every_alert_links_to_a_runbook_section() -> None:
    groups = yaml.safe_load((MONITORING / "rules" / "alerts.yml").read_text())["groups"]
    known = anchors()
    for rule in (r for g in groups for r in g["rules"]):
        link = rule["annotations"]["runbook"]
        path, _, anchor = link.partition("#")
        assert (ROOT / path) == RUNBOOK, rule["alert"]
        assert anchor in known, f"{rule['alert']}: #{anchor}"
    for anchor in re.findall(r"\]\(#([\w-]+)\)", RUNBOOK.read_text()):
        assert anchor in known, anchor


def test_commands_name_scripts_that_exist() -> None:
    text = RUNBOOK.read_text()
    for script in set(re.findall(r"scripts/(\w+\.sh)", text)):
        assert (DEPLOY / "scripts" / script).is_file(), script
    for path in ("deploy/kubernetes/values.yaml", "deploy/kubernetes/codetutor.yaml"):
        assert path in text and (ROOT / path).is_file()
