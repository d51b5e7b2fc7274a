import calendar


def is_leap(year):
    # the standard library already knows
    return calendar.isleap(year)
