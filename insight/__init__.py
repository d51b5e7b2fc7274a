"""Class insight for instructors: the dashboard Hub service (``codetutor dashboard``).

The model (ratings, mastery, recommendations, class overview, gradebook) is
:mod:`codetutor.insight.model` and its neighbours, over the judge's database.
"""
