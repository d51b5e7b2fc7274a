def reverse_words(sentence):
    # split(" ") keeps empty strings between repeated spaces
    return " ".join(reversed(sentence.split(" ")))
