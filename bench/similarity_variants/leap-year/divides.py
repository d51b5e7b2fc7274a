def is_leap(year):
    def divides(d):
        return year % d == 0

    return divides(400) or (divides(4) and not divides(100))
