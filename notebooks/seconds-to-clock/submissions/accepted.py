def format_duration(seconds):
    h = seconds // 3600
    m = seconds % 3600 // 60
    s = seconds % 60
    return str(h).zfill(2) + ":" + str(m).zfill(2) + ":" + str(s).zfill(2)
