def test_reverse(sample):
    assert sample("reverse", "stressed") == "desserts"


def test_count(sample):
    assert sample("count", "a b  c") == "3"


def test_runs_on_the_requested_jdk(sample):
    import os

    jdk = os.environ.get("PIPELINEGEN_JDK")
    version = sample("version")
    if jdk:
        assert version == f"java {jdk}"
