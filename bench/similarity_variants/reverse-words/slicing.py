def reverse_words(sentence):
    parts = sentence.split()
    return " ".join(parts[::-1])
