def min_coins(답, 문자):
    합계 = 문자 + 1
    값 = [0] + [합계] * 문자
    for 개수 in range(1, 문자 + 1):
        for 숫자 in 답:
            if 숫자 <= 개수 and 값[개수 - 숫자] + 1 < 값[개수]:
                값[개수] = 값[개수 - 숫자] + 1
    return 값[문자] if 값[문자] != 합계 else -1