def word_count(text):
    counts = {}
    _seq1 = list(text.split())
    for _i1 in range(len(_seq1)):
        raw = _seq1[_i1]
        word = raw.strip('.,!?;:').lower()
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts