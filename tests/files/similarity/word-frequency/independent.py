from collections import Counter

def word_count(text):
    words = (w.strip(".,!?;:").lower() for w in text.split())
    return Counter(w for w in words if w)
