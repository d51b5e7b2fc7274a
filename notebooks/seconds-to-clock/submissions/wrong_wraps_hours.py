def format_duration(seconds):
    # treats the result as a time of day, so 24 hours become 00
    h = seconds // 3600 % 24
    m = seconds % 3600 // 60
    s = seconds % 60
    return f"{h:02d}:{m:02d}:{s:02d}"
