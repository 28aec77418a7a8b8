from cligym.gold.pypi import choose_sdist, parse_simple_json


def payload():
    def f(name, rp=None, yanked=False):
        return {
            "filename": name,
            "url": f"https://files/{name}",
            "hashes": {"sha256": "00"},
            "requires-python": rp,
            "yanked": yanked,
        }

    return {
        "files": [
            f("demo-1.0.tar.gz"),
            f("demo-1.0-py3-none-any.whl"),
            f("demo-1.1.zip"),
            f("demo-2.0.tar.gz", rp=">=3.13"),
            f("demo-2.1rc1.tar.gz"),
            f("demo-1.5.tar.gz", yanked=True),
            f("other-9.0.tar.gz"),
        ]
    }


def test_parse_keeps_only_sdists_of_the_project():
    names = [f.filename for f in parse_simple_json(payload(), "Demo")]
    assert names == ["demo-1.0.tar.gz", "demo-1.1.zip", "demo-2.0.tar.gz", "demo-2.1rc1.tar.gz"]


def test_choose_newest_compatible_final_release():
    files = parse_simple_json(payload(), "demo")
    assert choose_sdist(files, None, "3.11.2").filename == "demo-1.1.zip"
    assert choose_sdist(files, None, "3.13.0").filename == "demo-2.0.tar.gz"
    assert choose_sdist(files, None, None).filename == "demo-2.0.tar.gz"


def test_choose_pinned_version():
    files = parse_simple_json(payload(), "demo")
    assert choose_sdist(files, "1.0", "3.11.2").filename == "demo-1.0.tar.gz"
    assert choose_sdist(files, "3.0", "3.11.2") is None
    assert choose_sdist(files, "not-a-version", None) is None
