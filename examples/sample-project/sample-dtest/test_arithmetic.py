def test_add(sample):
    assert sample("add", "40", "2") == "42"


def test_factorial(sample):
    assert sample("factorial", "10") == "3628800"
