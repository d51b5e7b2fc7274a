def is_palindrome(text):
    kept = [ch for ch in text if ch.isalnum()]
    return kept == kept[::-1]
