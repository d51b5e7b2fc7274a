def reverse_words(sentence):
    return sentence.strip()[::-1]
