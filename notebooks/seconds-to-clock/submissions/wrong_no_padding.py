def format_duration(seconds):
    h = seconds // 3600
    m = seconds % 3600 // 60
    s = seconds % 60
    return f"{h}:{m}:{s}"
