"""The national certificate number (pure)."""
import pytest
from hypothesis import given, strategies as st

from exam.certificates import numbers


def test_the_22_character_format():
    assert numbers.format_number("Y000111010001", 2026, 4, 1) == "Y000111010001264000001"
    assert numbers.format_number("S012344030001", 26, 1, 999_999) == "S012344030001261999999"
    parsed = numbers.parse_number("S012344030001261999999")
    assert (parsed.kind, parsed.body_code, parsed.province_code, parsed.site_code) == ("S", "0123", "44", "030001")
    assert (parsed.year, parsed.level, parsed.serial) == (26, 1, 999_999)
    assert str(parsed) == "S012344030001261999999"


@pytest.mark.parametrize("prefix, year, level, serial", [
    ("X000111010001", 26, 4, 1), ("Y00011101000", 26, 4, 1), ("Y000111010001", 26, 6, 1),
    ("Y000111010001", 26, 0, 1), ("Y000111010001", 26, 4, 0), ("Y000111010001", 26, 4, 1_000_000)])
def test_parts_that_do_not_fit_are_refused(prefix, year, level, serial):
    with pytest.raises(numbers.InvalidNumber):
        numbers.format_number(prefix, year, level, serial)


@pytest.mark.parametrize("text", [
    "", "Y00011101000126400000", "Y0001110100012640000011", "y000111010001264000001",
    "Y000111010001266000001", "Y000111010001264000000", "Y00011101000126400000１", " Y000111010001264000001"])
def test_only_the_exact_spelling_is_well_formed(text):
    assert not numbers.is_well_formed(text)


def test_typed_numbers_are_tidied():
    assert numbers.normalise_typed(" y0001-1101 0001 264000001 ") == "Y000111010001264000001"
    assert numbers.normalise_typed("Ｙ０００１１１０１０００１２６４０００００１") == "Y000111010001264000001"


@given(st.from_regex(r"[YS][0-9]{12}", fullmatch=True), st.integers(0, 99), st.integers(1, 5),
       st.integers(1, numbers.MAX_SERIAL))
def test_format_and_parse_round_trip(prefix, year, level, serial):
    number = numbers.format_number(prefix, year, level, serial)
    assert len(number) == 22 and numbers.is_well_formed(number)
    parsed = numbers.parse_number(number)
    assert (parsed.prefix, parsed.year, parsed.level, parsed.serial) == (prefix, year, level, serial)
