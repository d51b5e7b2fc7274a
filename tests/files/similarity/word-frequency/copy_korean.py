def word_count(숫자):
    답 = {}
    for 문자 in 숫자.split():
        개수 = 문자.strip('.,!?;:').lower()
        if 개수:
            답[개수] = 답.get(개수, 0) + 1
    return 답