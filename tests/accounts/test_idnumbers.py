from datetime import date

import pytest

from exam.accounts.idnumbers import (InvalidIdNumber, mask_id_number, mask_to_last, parse_resident_id,
                                     resident_id_check_char, validate_id_number)


@pytest.mark.parametrize("number, born", [
    # The national standard's (GB 11643-1999) published example.
    ("11010519491231002X", date(1949, 12, 31)),
    ("440524198001010013", date(1980, 1, 1)),
])
def test_valid_numbers_and_their_birth_dates(number, born):
    assert parse_resident_id(number, today=date(2026, 1, 1)) == born


def test_check_character_follows_iso_7064_mod_11_2():
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052419800101001") == "3"


def test_lower_case_x_and_spaces_are_normalised():
    number, born = validate_id_number("resident_id", " 110105 19491231 002x ", today=date(2026, 1, 1))
    assert number == "11010519491231002X" and born == date(1949, 12, 31)


@pytest.mark.parametrize("number, reason", [
    ("11010519491231002", "18"),
    ("1101051949123100XX", "digits"),
    ("99010519491231002X", "province"),
    ("110105194913310021", "birth date"),
    ("110105203001010011", "birth date"),
    ("110105194912310021", "check character"),
])
def test_invalid_numbers_say_why(app_ctx, number, reason):
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_resident_id(number, today=date(2026, 1, 1))
    assert reason in str(excinfo.value)


def test_other_documents_need_letters_and_digits(app_ctx):
    assert validate_id_number("passport", "e1234567")[0] == "E1234567"
    with pytest.raises(InvalidIdNumber):
        validate_id_number("passport", "12-34")


def test_masking():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_to_last("11010519491231002X") == "**************002X"
    assert mask_to_last("") == ""
