import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _i18n_script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_visible_string_has_a_chinese_translation():
    gaps = _i18n_script().missing()
    assert not gaps, "untranslated (run scripts/i18n.py update, then translate):\n" + "\n".join(
        f"{domain}: {ids}" for domain, ids in gaps.items())


def test_catalogues_are_found_for_every_domain_with_strings():
    script = _i18n_script()
    assert {"core", "accounts", "supervision"} <= {d for d in script.domains()
                                                  if script.catalog_path(d).exists()}


def test_the_same_message_reads_the_same_in_every_domain():
    clashes = _i18n_script().conflicts()
    assert not clashes, "message ids translated differently by different domains:\n" + "\n".join(
        f"{mid!r}: {by_domain}" for mid, by_domain in clashes.items())
