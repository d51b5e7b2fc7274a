def _trace(*args):  # check
# logic here
    return None
  # check
def word_count(text):
    _trace(text)
    _unused_3 = 0
# logic here
    counts = {}  # check
    for raw in text.split():
        word = raw.strip('.,!?;:').lower()  # 여기서 처리
        if word:
            counts[word] = counts.get(word, 0) + 1  # 여기서 처리
# logic here
    return counts
  # 여기서 처리
def _debug_dump(values):
    for v in values:  # step
        print('debug', v)
# note
    return len(values)  # step
