"""Table-driven tests of the calculator and the text helpers."""

import pytest

from app import add, shout, size


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (-376, -36, -412),
        (-489, -153, -642),
        (66, -73, -7),
        (448, 437, 885),
        (-226, 136, -90),
        (-368, -456, -824),
        (39, 226, 265),
        (-256, 460, 204),
        (-388, 492, 104),
        (-335, -232, -567),
        (-449, -315, -764),
        (-294, 454, 160),
        (-181, 143, -38),
        (-188, 43, -145),
        (277, -290, -13),
        (-204, -44, -248),
        (12, 188, 200),
        (-318, -223, -541),
        (-145, 322, 177),
        (-482, -244, -726),
        (-463, -485, -948),
        (-482, 250, -232),
        (17, 64, 81),
        (-306, 26, -280),
        (-14, -249, -263),
        (457, -43, 414),
        (-392, 174, -218),
        (338, 165, 503),
        (-58, 172, 114),
        (6, 59, 65),
        (354, 410, 764),
        (-98, 493, 395),
        (18, -185, -167),
        (204, -280, -76),
        (-265, -150, -415),
        (-297, 352, 55),
        (403, 223, 626),
        (246, 151, 397),
        (-357, -86, -443),
        (-145, -445, -590),
        (357, -368, -11),
        (-486, -428, -914),
        (140, 258, 398),
        (400, -239, 161),
        (-59, -333, -392),
    ],
)
def test_add(a, b, expected):
    assert add(a, b) == expected


@pytest.mark.parametrize(
    ("word", "length", "upper", "palindrome"),
    [
        ("milk", 4, "MILK", False),
        ("bread", 5, "BREAD", False),
        ("eggs", 4, "EGGS", False),
        ("coffee", 6, "COFFEE", False),
        ("apples", 6, "APPLES", False),
        ("rice", 4, "RICE", False),
        ("pasta", 5, "PASTA", False),
        ("tomatoes", 8, "TOMATOES", False),
        ("onions", 6, "ONIONS", False),
        ("garlic", 6, "GARLIC", False),
        ("cheese", 6, "CHEESE", False),
        ("butter", 6, "BUTTER", False),
        ("yogurt", 6, "YOGURT", False),
        ("lemons", 6, "LEMONS", False),
        ("spinach", 7, "SPINACH", False),
        ("carrots", 7, "CARROTS", False),
        ("beans", 5, "BEANS", False),
        ("flour", 5, "FLOUR", False),
        ("sugar", 5, "SUGAR", False),
        ("honey", 5, "HONEY", False),
        ("tea", 3, "TEA", False),
        ("oats", 4, "OATS", False),
        ("salmon", 6, "SALMON", False),
        ("tofu", 4, "TOFU", False),
    ],
)
def test_words(word, length, upper, palindrome):
    assert size(word) == length
    assert shout(word) == upper
    assert (word == word[::-1]) is palindrome
