from collections import Counter, defaultdict

def group_anagrams(words):
    by_letters = defaultdict(list)
    for word in words:
        key = tuple(sorted(Counter(word).items()))
        by_letters[key].append(word)
    result = [sorted(group) for group in by_letters.values()]
    result.sort(key=lambda group: group[0])
    return result
