"""Class insight for instructors: the dashboard Hub service (``codetutor dashboard``).

The numbers come from :mod:`codetutor.judge.insight` over the judge's database.
"""
