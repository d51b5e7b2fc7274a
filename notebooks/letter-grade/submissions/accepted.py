def letter_grade(score):
    if not 0 <= score <= 100:
        return "invalid"
    for cutoff, grade in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= cutoff:
            return grade
    return "F"
